import * as grpc from "@grpc/grpc-js";
import { fromBinary, toBinary, create, type MessageInitShape } from "@bufbuild/protobuf";
import {
  DeltaDiscoveryRequestSchema,
  DeltaDiscoveryResponseSchema,
  DiscoveryRequestSchema,
  DiscoveryResponseSchema,
  type DeltaDiscoveryResponse,
  type DiscoveryResponse,
} from "@weft/xds-api/gen/envoy/service/discovery/v3/discovery_pb";

const SVC = "/envoy.service.discovery.v3.AggregatedDiscoveryService/";

/** Plays the proxy on the agent's XDS socket with @grpc/grpc-js (a gRPC stack nobody here wrote). */
export function openAdsClient(socketPath: string) {
  const client = new grpc.Client(`unix://${socketPath}`, grpc.credentials.createInsecure());
  const responses: DiscoveryResponse[] = [];
  const deltaResponses: DeltaDiscoveryResponse[] = [];
  const errors: Error[] = [];
  let ended = false;
  const sotw = client.makeBidiStreamRequest(
    `${SVC}StreamAggregatedResources`,
    (m: MessageInitShape<typeof DiscoveryRequestSchema>) => Buffer.from(toBinary(DiscoveryRequestSchema, create(DiscoveryRequestSchema, m))),
    (b: Buffer) => fromBinary(DiscoveryResponseSchema, b),
  );
  sotw.on("data", (r: DiscoveryResponse) => responses.push(r));
  sotw.on("error", (e: Error) => errors.push(e));
  sotw.on("end", () => (ended = true));
  return {
    responses,
    errors,
    get ended() {
      return ended;
    },
    send: (m: MessageInitShape<typeof DiscoveryRequestSchema>) => sotw.write(m),
    openDelta() {
      const delta = client.makeBidiStreamRequest(
        `${SVC}DeltaAggregatedResources`,
        (m: MessageInitShape<typeof DeltaDiscoveryRequestSchema>) => Buffer.from(toBinary(DeltaDiscoveryRequestSchema, create(DeltaDiscoveryRequestSchema, m))),
        (b: Buffer) => fromBinary(DeltaDiscoveryResponseSchema, b),
      );
      delta.on("data", (r: DeltaDiscoveryResponse) => deltaResponses.push(r));
      delta.on("error", (e: Error) => errors.push(e));
      return { responses: deltaResponses, send: (m: MessageInitShape<typeof DeltaDiscoveryRequestSchema>) => delta.write(m) };
    },
    close() {
      sotw.cancel();
      client.close();
    },
  };
}

export async function until(cond: () => boolean, what: string, timeoutMs = 8000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!cond()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}
