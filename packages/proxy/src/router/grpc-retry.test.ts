// gRPC retries with @grpc/grpc-js on both sides: Istio's default retry_on
// ("connect-failure,refused-stream,unavailable,cancelled,retriable-status-codes")
// retries a trailers-only UNAVAILABLE on an HTTP/2 upstream; INTERNAL is not retried.
import * as grpc from "@grpc/grpc-js";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { httpListener, staticCluster, startRuntime, type Harness } from "../test-util/runtime-harness.js";

const id = (b: Buffer): Buffer => b;
const unary = (path: string) => ({ path, requestStream: false, responseStream: false, requestSerialize: id, requestDeserialize: id, responseSerialize: id, responseDeserialize: id });
const service = { flaky: unary("/weft.test.Retry/Flaky"), broken: unary("/weft.test.Retry/Broken") } as unknown as grpc.ServiceDefinition;
const H2 = {
  "envoy.extensions.upstreams.http.v3.HttpProtocolOptions": {
    "@type": "type.googleapis.com/envoy.extensions.upstreams.http.v3.HttpProtocolOptions",
    explicit_http_config: { http2_protocol_options: {} },
  },
};

describe("gRPC retries (Istio's default policy)", () => {
  let server: grpc.Server;
  let h: Harness;
  let client: grpc.Client & Record<string, (...a: unknown[]) => unknown>;
  const calls = new Map<string, string[]>();
  beforeAll(async () => {
    server = new grpc.Server();
    const record = (call: grpc.ServerUnaryCall<Buffer, Buffer>): string[] => {
      const key = call.request.toString();
      const list = calls.get(key) ?? [];
      list.push(String(call.metadata.get("x-envoy-attempt-count")[0] ?? ""));
      calls.set(key, list);
      return list;
    };
    server.addService(service, {
      flaky: (call: grpc.ServerUnaryCall<Buffer, Buffer>, cb: grpc.sendUnaryData<Buffer>) => {
        const n = record(call).length;
        if (n === 1) cb({ code: grpc.status.UNAVAILABLE, details: "warming up" });
        else cb(null, Buffer.from(`ok after ${n}`));
      },
      broken: (call: grpc.ServerUnaryCall<Buffer, Buffer>, cb: grpc.sendUnaryData<Buffer>) => {
        record(call);
        cb({ code: grpc.status.INTERNAL, details: "bug" });
      },
    });
    const grpcPort = await new Promise<number>((res, rej) => server.bindAsync("127.0.0.1:0", grpc.ServerCredentials.createInsecure(), (e, p) => (e ? rej(e) : res(p))));
    h = await startRuntime({
      clusters: [staticCluster("grpc", [grpcPort], { typed_extension_protocol_options: H2 })],
      listeners: [
        httpListener("edge", [
          {
            name: "all",
            domains: ["*"],
            include_request_attempt_count: true,
            routes: [
              {
                match: { prefix: "/" },
                route: {
                  cluster: "grpc",
                  timeout: "0s",
                  retry_policy: { retry_on: "connect-failure,refused-stream,unavailable,cancelled,retriable-status-codes", num_retries: 2, host_selection_retry_max_attempts: 5, retry_host_predicate: [{ name: "envoy.retry_host_predicates.previous_hosts" }] },
                },
              },
            ],
          },
        ]),
      ],
    });
    const Ctor = grpc.makeGenericClientConstructor(service as never, "Retry");
    client = new Ctor(`127.0.0.1:${h.port("edge")}`, grpc.credentials.createInsecure()) as never;
  });
  afterAll(async () => {
    client?.close();
    await h?.close();
    server?.forceShutdown();
  });

  it("retries UNAVAILABLE; the second attempt carries x-envoy-attempt-count 2", async () => {
    const r = await new Promise<Buffer>((res, rej) => client.flaky(Buffer.from("a"), (e: Error | null, v: Buffer) => (e ? rej(e) : res(v))));
    expect(r.toString()).toBe("ok after 2");
    expect(calls.get("a")).toEqual(["1", "2"]);
    expect(h.stats.get("cluster.grpc.upstream_rq_retry")).toBe(1);
    expect(h.stats.get("cluster.grpc.upstream_rq_retry_success")).toBe(1);
  });

  it("does not retry INTERNAL", async () => {
    const err = await new Promise<grpc.ServiceError>((res) => client.broken(Buffer.from("b"), (e: grpc.ServiceError) => res(e)));
    expect(err.code).toBe(grpc.status.INTERNAL);
    expect(calls.get("b")).toEqual(["1"]);
  });
});
