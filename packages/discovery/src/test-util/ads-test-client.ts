// An ADS client for tests and the bench: a real gRPC stream (connect-node's
// gRPC transport over HTTP/2) driven by @weft/xds-api's client state machines.
// Records every response and can reject (NACK) on demand.
import { create } from "@bufbuild/protobuf";
import { createClient, type Transport } from "@connectrpc/connect";
import { createGrpcTransport } from "@connectrpc/connect-node";
import { createDeltaClient, createSotwClient, type ClientUpdate } from "@weft/xds-api";
import { NodeSchema, type Node } from "@weft/xds-api/gen/envoy/config/core/v3/base_pb.js";
import { AggregatedDiscoveryService } from "@weft/xds-api/gen/envoy/service/discovery/v3/ads_pb.js";
import type { DeltaDiscoveryRequest, DiscoveryRequest } from "@weft/xds-api/gen/envoy/service/discovery/v3/discovery_pb.js";
import { createAsyncQueue } from "../server/async-queue.js";

export interface Received {
  typeUrl: string;
  version: string;
  names: string[];
  removed: string[];
  at: number;
}

export interface AdsTestClient {
  readonly received: Received[];
  subscribe(typeUrl: string, names: readonly string[] | "*"): void;
  /** Resolves with the first response (from now on) matching `pred`. */
  next(pred?: (r: Received) => boolean, timeoutMs?: number): Promise<Received>;
  /** Makes `apply` throw for the next response of this type (NACK). */
  rejectNext(typeUrl: string, message: string): void;
  /** Resolves when the stream ends: undefined for OK, else the error. */
  readonly ended: Promise<Error | undefined>;
  close(): void;
}

export function grpcTransport(addr: string): Transport {
  return createGrpcTransport({ baseUrl: `http://${addr}` });
}

export function testNode(id: string, metadata: Record<string, string> = {}): Node {
  return create(NodeSchema, { id, cluster: "test", metadata });
}

export function createAdsTestClient(options: { transport: Transport; node: Node; mode?: "sotw" | "delta"; onUpdate?: (u: ClientUpdate) => void }): AdsTestClient {
  const client = createClient(AggregatedDiscoveryService, options.transport);
  const abort = new AbortController();
  const received: Received[] = [];
  const waiters: Array<{ pred: (r: Received) => boolean; resolve: (r: Received) => void }> = [];
  const rejects = new Map<string, string>();

  const apply = (u: ClientUpdate) => {
    const reason = rejects.get(u.typeUrl);
    rejects.delete(u.typeUrl);
    const r: Received = { typeUrl: u.typeUrl, version: u.version, names: u.resources.map((x) => x.name), removed: u.removed, at: performance.now() };
    received.push(r);
    options.onUpdate?.(u);
    for (let i = waiters.length - 1; i >= 0; i--) {
      if (waiters[i].pred(r)) waiters.splice(i, 1)[0].resolve(r);
    }
    if (reason) throw new Error(reason);
  };

  let subscribe: (typeUrl: string, names: readonly string[] | "*") => void;
  let ended: Promise<Error | undefined>;
  const settle = (p: Promise<void>) => p.then(() => undefined, (e: unknown) => (abort.signal.aborted ? undefined : (e as Error)));

  if (options.mode === "delta") {
    const sm = createDeltaClient(options.node);
    const out = createAsyncQueue<DeltaDiscoveryRequest>();
    subscribe = (t, n) => {
      const req = sm.subscribe(t, n);
      if (req) out.push(req);
    };
    ended = settle((async () => {
      try {
        for await (const res of client.deltaAggregatedResources(out, { signal: abort.signal })) out.push(await sm.receive(res, apply));
      } finally {
        out.end(); // half-close our side once the server is done, as grpc clients do
      }
    })());
  } else {
    const sm = createSotwClient(options.node);
    const out = createAsyncQueue<DiscoveryRequest>();
    subscribe = (t, n) => {
      const req = sm.subscribe(t, n);
      if (req) out.push(req);
    };
    ended = settle((async () => {
      try {
        for await (const res of client.streamAggregatedResources(out, { signal: abort.signal })) out.push(await sm.receive(res, apply));
      } finally {
        out.end();
      }
    })());
  }

  return {
    received,
    subscribe: (t, n) => subscribe(t, n),
    next(pred = () => true, timeoutMs = 5000) {
      return new Promise((resolve, reject) => {
        const timer = setTimeout(() => reject(new Error(`no matching xDS response within ${timeoutMs} ms; got ${JSON.stringify(received.map((r) => r.typeUrl.split(".").pop()))}`)), timeoutMs);
        waiters.push({ pred, resolve: (r) => (clearTimeout(timer), resolve(r)) });
      });
    },
    rejectNext: (t, m) => rejects.set(t, m),
    ended,
    close: () => abort.abort(),
  };
}
