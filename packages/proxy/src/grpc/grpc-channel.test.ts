// The plain node:http2 gRPC client against @grpc/grpc-js as the server (a
// different implementation of the same wire protocol), on the ADS method the
// proxy uses: framing both ways, statuses from trailers and trailers-only
// responses, the HTTP fallback, an unreachable server, abort, Unix sockets,
// keepalive PINGs.
import { mkdtempSync } from "node:fs";
import { createServer as createH2Server, type Http2Server, type ServerHttp2Session } from "node:http2";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { create, fromBinary, toBinary } from "@bufbuild/protobuf";
import * as grpc from "@grpc/grpc-js";
import { AggregatedDiscoveryService } from "@weft/xds-api/gen/envoy/service/discovery/v3/ads_pb";
import {
  DiscoveryRequestSchema,
  DiscoveryResponseSchema,
  type DiscoveryRequest,
  type DiscoveryResponse,
} from "@weft/xds-api/gen/envoy/service/discovery/v3/discovery_pb";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { RequestQueue } from "../xds/request-queue.js";
import { createGrpcChannel, type GrpcChannel } from "./grpc-channel.js";
import { GrpcError, GrpcStatus } from "./grpc-error.js";

const ADS = AggregatedDiscoveryService.method.streamAggregatedResources;
const PATH = `/${ADS.parent.typeName}/${ADS.name}`;
const definition = {
  stream: {
    path: PATH,
    requestStream: true,
    responseStream: true,
    requestSerialize: (m: DiscoveryRequest) => Buffer.from(toBinary(DiscoveryRequestSchema, m)),
    requestDeserialize: (b: Buffer) => fromBinary(DiscoveryRequestSchema, b),
    responseSerialize: (m: DiscoveryResponse) => Buffer.from(toBinary(DiscoveryResponseSchema, m)),
    responseDeserialize: (b: Buffer) => fromBinary(DiscoveryResponseSchema, b),
  },
} as unknown as grpc.ServiceDefinition;

/** What the test server does with a request is in its type_url. */
const cancelledOnServer: string[] = [];
function handle(call: grpc.ServerDuplexStream<DiscoveryRequest, DiscoveryResponse>): void {
  call.on("cancelled", () => cancelledOnServer.push("cancelled"));
  call.on("data", (req: DiscoveryRequest) => {
    switch (req.typeUrl) {
      case "fail":
        call.emit("error", { code: grpc.status.FAILED_PRECONDITION, details: "node ✗ is not known (100% sure)" });
        return;
      case "end":
        call.end();
        return;
      case "big":
        // ≈ 300 KB: many DATA frames, and more than one HTTP/2 window.
        call.write(create(DiscoveryResponseSchema, { typeUrl: "big", versionInfo: "x".repeat(300_000) }));
        return;
      default:
        // Two responses per request: several messages may share a chunk.
        call.write(create(DiscoveryResponseSchema, { typeUrl: req.typeUrl, versionInfo: req.versionInfo, nonce: "1" }));
        call.write(create(DiscoveryResponseSchema, { typeUrl: req.typeUrl, versionInfo: req.versionInfo, nonce: "2" }));
    }
  });
  call.on("end", () => call.end());
}

const req = (typeUrl: string, versionInfo = "") => create(DiscoveryRequestSchema, { typeUrl, versionInfo });

async function collect<T>(it: AsyncIterable<T>, limit = 100): Promise<{ items: T[]; error?: unknown }> {
  const items: T[] = [];
  try {
    for await (const x of it) {
      items.push(x);
      if (items.length >= limit) break;
    }
  } catch (error) {
    return { items, error };
  }
  return { items };
}

let server: grpc.Server;
let port: number;
let sock: string;
let channel: GrpcChannel | undefined;
beforeAll(async () => {
  server = new grpc.Server();
  server.addService(definition, { stream: handle });
  port = await new Promise<number>((res, rej) => server.bindAsync("127.0.0.1:0", grpc.ServerCredentials.createInsecure(), (e, p) => (e ? rej(e) : res(p))));
  sock = join(mkdtempSync(join(tmpdir(), "weft-grpc-")), "ADS");
  await new Promise<void>((res, rej) => server.bindAsync(`unix:${sock}`, grpc.ServerCredentials.createInsecure(), (e) => (e ? rej(e) : res())));
});
afterAll(() => server.forceShutdown());
afterEach(() => channel?.close());

describe("gRPC channel (node:http2) against @grpc/grpc-js", () => {
  it("streams both ways over TCP and ends OK when the server ends the call", async () => {
    channel = createGrpcChannel({ kind: "tcp", host: "127.0.0.1", port });
    const q = new RequestQueue<DiscoveryRequest>();
    q.push(req("a", "1"));
    q.push(req("b", "2"));
    q.push(req("end"));
    const { items, error } = await collect(channel.bidiStream(ADS, q, new AbortController().signal));
    expect(error).toBeUndefined();
    expect(items.map((r) => `${r.typeUrl}/${r.versionInfo}/${r.nonce}`)).toEqual(["a/1/1", "a/1/2", "b/2/1", "b/2/2"]);
  });

  it("reassembles a message that spans many DATA frames", async () => {
    channel = createGrpcChannel({ kind: "tcp", host: "127.0.0.1", port });
    const q = new RequestQueue<DiscoveryRequest>();
    q.push(req("big"));
    q.push(req("end"));
    const { items, error } = await collect(channel.bidiStream(ADS, q, new AbortController().signal));
    expect(error).toBeUndefined();
    expect(items).toHaveLength(1);
    expect(items[0].versionInfo).toBe("x".repeat(300_000));
  });

  it("works over a Unix socket, and half-closing ends the call", async () => {
    channel = createGrpcChannel({ kind: "unix", path: sock });
    const q = new RequestQueue<DiscoveryRequest>();
    q.push(req("u", "7"));
    q.end();
    const { items, error } = await collect(channel.bidiStream(ADS, q, new AbortController().signal));
    expect(error).toBeUndefined();
    expect(items.map((r) => r.nonce)).toEqual(["1", "2"]);
  });

  it("ends with the server's status and its decoded grpc-message", async () => {
    channel = createGrpcChannel({ kind: "tcp", host: "127.0.0.1", port });
    const q = new RequestQueue<DiscoveryRequest>();
    q.push(req("ok"));
    q.push(req("fail"));
    const { items, error } = await collect(channel.bidiStream(ADS, q, new AbortController().signal));
    expect(items).toHaveLength(2);
    expect(error).toBeInstanceOf(GrpcError);
    expect((error as GrpcError).code).toBe(GrpcStatus.FAILED_PRECONDITION);
    expect((error as GrpcError).detail).toBe("node ✗ is not known (100% sure)");
    expect((error as GrpcError).message).toBe("FAILED_PRECONDITION: node ✗ is not known (100% sure)");
  });

  it("reads a trailers-only status (a method the server does not have)", async () => {
    channel = createGrpcChannel({ kind: "tcp", host: "127.0.0.1", port });
    const delta = AggregatedDiscoveryService.method.deltaAggregatedResources;
    const q = new RequestQueue<never>();
    const { error } = await collect(channel.bidiStream(delta, q, new AbortController().signal));
    expect((error as GrpcError).code).toBe(GrpcStatus.UNIMPLEMENTED);
  });

  it("fails UNAVAILABLE, naming the target, when nothing listens", async () => {
    const gone = await new Promise<number>((res) => {
      const s = createH2Server().listen(0, "127.0.0.1", () => {
        const p = (s.address() as { port: number }).port;
        s.close(() => res(p));
      });
    });
    for (const address of [{ kind: "tcp", host: "127.0.0.1", port: gone } as const, { kind: "unix", path: join(tmpdir(), "weft-no-such-socket") } as const]) {
      channel = createGrpcChannel(address);
      const { error } = await collect(channel.bidiStream(ADS, new RequestQueue<DiscoveryRequest>(), new AbortController().signal));
      expect((error as GrpcError).code).toBe(GrpcStatus.UNAVAILABLE);
      expect((error as GrpcError).message).toMatch(address.kind === "tcp" ? /cannot reach 127\.0\.0\.1:\d+: connect ECONNREFUSED/ : /cannot reach unix:.*weft-no-such-socket: connect ENOENT/);
      channel.close();
    }
  });

  it("an abort cancels the call on both sides", async () => {
    channel = createGrpcChannel({ kind: "tcp", host: "127.0.0.1", port });
    const q = new RequestQueue<DiscoveryRequest>();
    q.push(req("a"));
    const abort = new AbortController();
    const before = cancelledOnServer.length;
    const seen: string[] = [];
    let error: unknown;
    try {
      for await (const r of channel.bidiStream(ADS, q, abort.signal)) {
        seen.push(r.nonce);
        abort.abort();
      }
    } catch (e) {
      error = e;
    }
    expect(seen).toEqual(["1"]);
    expect((error as GrpcError).code).toBe(GrpcStatus.CANCELLED);
    for (let i = 0; i < 100 && cancelledOnServer.length === before; i++) await new Promise((r) => setTimeout(r, 10));
    expect(cancelledOnServer.length).toBe(before + 1);
  });

  it("a second call reuses the connection, and a new one is opened after the server drops it", async () => {
    const sessions: ServerHttp2Session[] = [];
    const h2: Http2Server = createH2Server();
    h2.on("session", (s) => sessions.push(s));
    h2.on("stream", (stream) => {
      stream.respond({ ":status": 200, "content-type": "application/grpc" }, { waitForTrailers: true });
      stream.on("wantTrailers", () => stream.sendTrailers({ "grpc-status": "0" }));
      stream.end();
    });
    const p = await new Promise<number>((res) => h2.listen(0, "127.0.0.1", () => res((h2.address() as { port: number }).port)));
    channel = createGrpcChannel({ kind: "tcp", host: "127.0.0.1", port: p });
    const call = async () => collect(channel!.bidiStream(ADS, new RequestQueue<DiscoveryRequest>(), new AbortController().signal));
    expect((await call()).error).toBeUndefined();
    expect((await call()).error).toBeUndefined();
    expect(sessions).toHaveLength(1);
    sessions[0].destroy();
    await new Promise((r) => setTimeout(r, 50));
    expect((await call()).error).toBeUndefined();
    expect(sessions).toHaveLength(2);
    channel.close();
    await new Promise<void>((res) => h2.close(() => res()));
  });

  it("maps a non-gRPC answer to a status from its HTTP code", async () => {
    const h2 = createH2Server((_req, res) => {
      res.writeHead(404, { "content-type": "text/html" });
      res.end("<h1>no</h1>");
    });
    const p = await new Promise<number>((res) => h2.listen(0, "127.0.0.1", () => res((h2.address() as { port: number }).port)));
    channel = createGrpcChannel({ kind: "tcp", host: "127.0.0.1", port: p });
    const { error } = await collect(channel.bidiStream(ADS, new RequestQueue<DiscoveryRequest>(), new AbortController().signal));
    expect((error as GrpcError).code).toBe(GrpcStatus.UNIMPLEMENTED);
    expect((error as GrpcError).message).toMatch(/answered HTTP 404/);
    channel.close();
    await new Promise<void>((res) => h2.close(() => res()));
  });

  it("sends keepalive PINGs while connected", async () => {
    let pings = 0;
    const h2 = createH2Server();
    h2.on("session", (s) => s.on("ping", () => pings++));
    h2.on("stream", (stream) => stream.respond({ ":status": 200, "content-type": "application/grpc" }));
    const p = await new Promise<number>((res) => h2.listen(0, "127.0.0.1", () => res((h2.address() as { port: number }).port)));
    channel = createGrpcChannel({ kind: "tcp", host: "127.0.0.1", port: p }, { pingIntervalMs: 30 });
    const abort = new AbortController();
    const done = collect(channel.bidiStream(ADS, new RequestQueue<DiscoveryRequest>(), abort.signal));
    for (let i = 0; i < 100 && pings < 2; i++) await new Promise((r) => setTimeout(r, 20));
    abort.abort();
    expect((await done).error).toBeInstanceOf(GrpcError);
    expect(pings).toBeGreaterThanOrEqual(2);
    channel.close();
    await new Promise<void>((res) => h2.close(() => res()));
  });
});
