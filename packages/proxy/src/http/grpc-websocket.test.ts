// gRPC (grpc-js: unary, server streaming, bidi) and WebSocket echo (ws)
// through the proxy, HTTP/2 upstream via typed_extension_protocol_options.
import * as grpc from "@grpc/grpc-js";
import { WebSocketServer, WebSocket } from "ws";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { httpListener, staticCluster, startRuntime, type Harness } from "../test-util/runtime-harness.js";

const id = (b: Buffer): Buffer => b;
const method = (path: string, requestStream: boolean, responseStream: boolean) => ({
  path,
  requestStream,
  responseStream,
  requestSerialize: id,
  requestDeserialize: id,
  responseSerialize: id,
  responseDeserialize: id,
});
const service = {
  unary: method("/weft.test.Echo/Unary", false, false),
  serverStream: method("/weft.test.Echo/ServerStream", false, true),
  bidi: method("/weft.test.Echo/Bidi", true, true),
  fail: method("/weft.test.Echo/Fail", false, false),
} as unknown as grpc.ServiceDefinition;

const H2 = {
  "envoy.extensions.upstreams.http.v3.HttpProtocolOptions": {
    "@type": "type.googleapis.com/envoy.extensions.upstreams.http.v3.HttpProtocolOptions",
    explicit_http_config: { http2_protocol_options: {} },
  },
};

describe("gRPC and WebSocket through the proxy", () => {
  let server: grpc.Server;
  let wss: WebSocketServer;
  let h: Harness;
  let port: number;
  let client: grpc.Client & Record<string, (...a: unknown[]) => unknown>;

  beforeAll(async () => {
    server = new grpc.Server();
    server.addService(service, {
      unary: (call: grpc.ServerUnaryCall<Buffer, Buffer>, cb: grpc.sendUnaryData<Buffer>) => {
        const md = call.metadata.get("x-request-id");
        cb(null, Buffer.concat([Buffer.from("echo:"), call.request, Buffer.from(md.length ? ":rid" : ":norid")]));
      },
      serverStream: (call: grpc.ServerWritableStream<Buffer, Buffer>) => {
        for (let i = 0; i < 3; i++) call.write(Buffer.from(`${call.request.toString()}-${i}`));
        call.end();
      },
      bidi: (call: grpc.ServerDuplexStream<Buffer, Buffer>) => {
        call.on("data", (d: Buffer) => call.write(Buffer.from(`re:${d.toString()}`)));
        call.on("end", () => call.end());
      },
      fail: (_call: unknown, cb: grpc.sendUnaryData<Buffer>) => cb({ code: grpc.status.NOT_FOUND, details: "nothing here" }),
    });
    const grpcPort = await new Promise<number>((res, rej) =>
      server.bindAsync("127.0.0.1:0", grpc.ServerCredentials.createInsecure(), (e, p) => (e ? rej(e) : res(p))),
    );
    wss = new WebSocketServer({ host: "127.0.0.1", port: 0 });
    wss.on("connection", (ws, req) => {
      ws.send(`hello ${req.headers["x-request-id"] ? "rid" : "norid"}`);
      ws.on("message", (m) => ws.send(`echo:${m.toString()}`));
    });
    await new Promise((r) => wss.once("listening", r));
    const wsPort = (wss.address() as { port: number }).port;
    h = await startRuntime({
      clusters: [
        staticCluster("grpc", [grpcPort], { typed_extension_protocol_options: H2 }),
        staticCluster("ws", [wsPort]),
        staticCluster("dead", [1]),
      ],
      listeners: [
        httpListener(
          "edge",
          [
            {
              name: "all",
              domains: ["*"],
              routes: [
                { name: "grpc", match: { prefix: "/weft.test.Echo/" }, route: { cluster: "grpc", timeout: "0s" } },
                { name: "dead", match: { prefix: "/dead" }, route: { cluster: "dead" } },
                { name: "ws", match: { prefix: "/" }, route: { cluster: "ws" } },
              ],
            },
          ],
          { upgrade_configs: [{ upgrade_type: "websocket" }] },
        ),
      ],
    });
    port = h.port("edge");
    const Ctor = grpc.makeGenericClientConstructor(service as never, "Echo");
    client = new Ctor(`127.0.0.1:${port}`, grpc.credentials.createInsecure()) as never;
  });
  afterAll(async () => {
    client?.close();
    await h?.close();
    server?.forceShutdown();
    wss?.close();
  });

  it("proxies a unary call and the upstream sees x-request-id", async () => {
    const r = await new Promise<Buffer>((res, rej) => client.unary(Buffer.from("hi"), (e: Error | null, v: Buffer) => (e ? rej(e) : res(v))));
    expect(r.toString()).toBe("echo:hi:rid");
    const log = await h.logs.waitFor((i) => i.routeName === "grpc");
    expect(log.protocol).toBe("HTTP/2");
    expect(log.responseCode).toBe(200);
  });

  it("passes a gRPC error status through trailers", async () => {
    const err = await new Promise<grpc.ServiceError>((res) => client.fail(Buffer.from("x"), (e: grpc.ServiceError) => res(e)));
    expect(err.code).toBe(grpc.status.NOT_FOUND);
    expect(err.details).toBe("nothing here");
  });

  it("proxies server streaming", async () => {
    const got: string[] = [];
    await new Promise<void>((res, rej) => {
      const call = client.serverStream(Buffer.from("s")) as grpc.ClientReadableStream<Buffer>;
      call.on("data", (d: Buffer) => got.push(d.toString()));
      call.on("error", rej);
      call.on("end", () => res());
    });
    expect(got).toEqual(["s-0", "s-1", "s-2"]);
  });

  it("proxies bidi streaming message by message", async () => {
    const call = client.bidi() as grpc.ClientDuplexStream<Buffer, Buffer>;
    const next = () => new Promise<string>((res) => call.once("data", (d: Buffer) => res(d.toString())));
    call.write(Buffer.from("a"));
    expect(await next()).toBe("re:a");
    call.write(Buffer.from("b"));
    expect(await next()).toBe("re:b");
    call.end();
    await new Promise((r) => call.on("status", r));
  });

  it("turns a local reply to a gRPC request into grpc-status UNAVAILABLE", async () => {
    const Ctor = grpc.makeGenericClientConstructor({ dead: method("/dead/Call", false, false) } as never, "Dead");
    const c = new Ctor(`127.0.0.1:${port}`, grpc.credentials.createInsecure()) as never as Record<string, (...a: unknown[]) => void> & grpc.Client;
    const err = await new Promise<grpc.ServiceError>((res) => c.dead(Buffer.from("x"), (e: grpc.ServiceError) => res(e)));
    c.close();
    expect(err.code).toBe(grpc.status.UNAVAILABLE);
    const log = await h.logs.waitFor((i) => i.routeName === "dead");
    expect(log.responseFlags).toContain("UF");
  });

  it("upgrades WebSocket and echoes messages", async () => {
    const ws = new WebSocket(`ws://127.0.0.1:${port}/chat`);
    const msgs: string[] = [];
    await new Promise<void>((res, rej) => {
      ws.on("message", (m) => {
        msgs.push(m.toString());
        if (msgs.length === 1) ws.send("ping");
        if (msgs.length === 2) res();
      });
      ws.on("error", rej);
    });
    ws.close();
    expect(msgs).toEqual(["hello rid", "echo:ping"]);
    const log = await h.logs.waitFor((i) => i.routeName === "ws" && i.responseCode === 101);
    expect(log.upstreamCluster).toBe("ws");
  });
});
