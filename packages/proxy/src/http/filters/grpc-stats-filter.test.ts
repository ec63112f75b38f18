// grpc_stats with @grpc/grpc-js on both sides, through the proxy with and
// without Istio's retry policy (request bodies through the replay copy, or
// straight through the HTTP/2 pool): message counts
// of a bidi stream and a unary call, success/failure by grpc-status, per-method
// names only when configured, and istio.stats' istio_request/response_messages_total
// from the same counts.
import * as grpc from "@grpc/grpc-js";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { httpListener, staticCluster, startRuntime, type Harness } from "../../test-util/runtime-harness.js";

const id = (b: Buffer): Buffer => b;
const method = (path: string, requestStream: boolean, responseStream: boolean) => ({ path, requestStream, responseStream, requestSerialize: id, requestDeserialize: id, responseSerialize: id, responseDeserialize: id });
const service = { chat: method("/weft.test.Echo/Chat", true, true), fail: method("/weft.test.Echo/Fail", false, false) } as unknown as grpc.ServiceDefinition;
const H2 = { "envoy.extensions.upstreams.http.v3.HttpProtocolOptions": { "@type": "type.googleapis.com/envoy.extensions.upstreams.http.v3.HttpProtocolOptions", explicit_http_config: { http2_protocol_options: {} } } };
const GRPC_STATS = "type.googleapis.com/envoy.extensions.filters.http.grpc_stats.v3.FilterConfig";
const ROUTER = { name: "envoy.filters.http.router", typed_config: { "@type": "type.googleapis.com/envoy.extensions.filters.http.router.v3.Router" } };
const ISTIO_STATS = { name: "istio.stats", typed_config: { "@type": "type.googleapis.com/udpa.type.v1.TypedStruct", type_url: "type.googleapis.com/stats.PluginConfig", value: {} } };
const RETRY = { retry_on: "connect-failure,refused-stream,unavailable,cancelled,retriable-status-codes", num_retries: 2 };

/** `retry`: the request body goes upstream through the replay copy; without it, straight through the pool. */
function edge(name: string, grpcStats: Record<string, unknown>, retry: boolean, istioStats: Record<string, unknown> = {}): Record<string, unknown> {
  const routes = [{ name: "all", domains: ["*"], routes: [{ match: { prefix: "/" }, route: { cluster: "grpc", timeout: "0s", ...(retry ? { retry_policy: RETRY } : {}) } }] }];
  const istio = { ...ISTIO_STATS, typed_config: { ...ISTIO_STATS.typed_config, value: istioStats } };
  const filters = [{ name: "envoy.filters.http.grpc_stats", typed_config: { "@type": GRPC_STATS, emit_filter_state: true, ...grpcStats } }, istio, ROUTER];
  return { ...httpListener(name, routes, { http_filters: filters, access_log: [] }), traffic_direction: "OUTBOUND" };
}

type Client = grpc.Client & Record<string, (...a: unknown[]) => unknown>;

function chat(client: Client, sends: number): Promise<number> {
  return new Promise((resolve, reject) => {
    const call = client.chat() as grpc.ClientDuplexStream<Buffer, Buffer>;
    let got = 0;
    call.on("data", () => got++);
    call.on("end", () => resolve(got));
    call.on("error", reject);
    for (let i = 0; i < sends; i++) call.write(Buffer.from(`m${i}`));
    call.end();
  });
}

describe("grpc_stats (grpc-js client and server)", () => {
  let server: grpc.Server;
  let h: Harness;
  const clients: Client[] = [];
  const clientOf = (listener: string): Client => {
    const Ctor = grpc.makeGenericClientConstructor(service as never, "Echo");
    const c = new Ctor(`127.0.0.1:${h.port(listener)}`, grpc.credentials.createInsecure()) as Client;
    clients.push(c);
    return c;
  };
  beforeAll(async () => {
    server = new grpc.Server();
    server.addService(service, {
      // Two replies per message: response counts differ from request counts.
      chat: (call: grpc.ServerDuplexStream<Buffer, Buffer>) => {
        call.on("data", (m: Buffer) => {
          call.write(m);
          call.write(m);
        });
        call.on("end", () => call.end());
      },
      fail: (_call: grpc.ServerUnaryCall<Buffer, Buffer>, cb: grpc.sendUnaryData<Buffer>) => cb({ code: grpc.status.INTERNAL, details: "bug" }),
    });
    const port = await new Promise<number>((res, rej) => server.bindAsync("127.0.0.1:0", grpc.ServerCredentials.createInsecure(), (e, p) => (e ? rej(e) : res(p))));
    h = await startRuntime({
      clusters: [staticCluster("grpc", [port], { typed_extension_protocol_options: H2 })],
      listeners: [
        edge("plain", {}, true),
        edge("per-method", { stats_for_all_methods: true, replace_dots_in_grpc_service_name: true }, false),
        edge("periodic", {}, false, { tcp_reporting_duration: "0.2s" }),
      ],
    });
  });
  afterAll(async () => {
    for (const c of clients) c.close();
    await h?.close();
    server?.forceShutdown();
  });

  it("counts a bidi stream's messages both ways and the call's outcome, under cluster.<c>.grpc.", async () => {
    expect(await chat(clientOf("plain"), 3)).toBe(6);
    const failed = await new Promise<grpc.ServiceError>((res) => clientOf("plain").fail(Buffer.from("x"), (e: grpc.ServiceError) => res(e)));
    expect(failed.code).toBe(grpc.status.INTERNAL);
    const s = (n: string) => h.stats.get(`cluster.grpc.grpc.${n}`);
    await expect.poll(() => s("total")).toBe(2);
    expect([s("success"), s("failure"), s("request_message_count"), s("response_message_count")]).toEqual([1, 1, 4, 6]);
    // No per-method names unless configured: a client's :path must not mint stat names.
    expect(h.stats.names().filter((n) => n.includes("weft.test") || n.includes("weft_test"))).toEqual([]);
  });

  it("names the service and method with stats_for_all_methods (dots replaced when asked)", async () => {
    expect(await chat(clientOf("per-method"), 2)).toBe(4);
    await expect.poll(() => h.stats.get("cluster.grpc.grpc.weft_test_Echo.Chat.total")).toBe(1);
    expect(h.stats.get("cluster.grpc.grpc.weft_test_Echo.Chat.request_message_count")).toBe(2);
    expect(h.stats.get("cluster.grpc.grpc.weft_test_Echo.Chat.response_message_count")).toBe(4);
  });

  it("gives istio.stats the counts: istio_request/response_messages_total labelled by who talked to whom", async () => {
    const msgs = (dir: "request" | "response") =>
      h.stats
        .names()
        .filter((n) => n.startsWith(`istiocustom.istio_${dir}_messages_total.`))
        .reduce((sum, n) => sum + (h.stats.get(n) ?? 0), 0);
    // Both listeners' calls so far: 3 + 1 + 2 requests out, 6 + 0 + 4 responses back.
    await expect.poll(() => msgs("response")).toBe(10);
    expect(msgs("request")).toBe(6);
    const name = h.stats.names().find((n) => n.startsWith("istiocustom.istio_request_messages_total."))!;
    expect(name).toContain(".reporter.source.");
    expect(name).not.toContain(".response_code.");
    expect(name).toMatch(/\.destination_cluster\.[^.]+$/);
  });

  it("reports a long stream's messages every tcp_reporting_duration while it lasts, and the rest when it ends", async () => {
    // This listener's series: destination_service falls back to its own authority (127.0.0.1:<port>).
    const port = h.port("periodic");
    const msgs = (dir: "request" | "response") =>
      h.stats
        .names()
        .filter((n) => n.startsWith(`istiocustom.istio_${dir}_messages_total.`) && n.includes(`.destination_service.127.0.0.1:${port}.`))
        .reduce((sum, n) => sum + (h.stats.get(n) ?? 0), 0);
    const call = clientOf("periodic").chat() as grpc.ClientDuplexStream<Buffer, Buffer>;
    let got = 0;
    call.on("data", () => got++);
    const ended = new Promise<void>((res, rej) => {
      call.on("end", res);
      call.on("error", rej);
    });
    call.write(Buffer.from("a"));
    call.write(Buffer.from("b"));
    await expect.poll(() => got).toBe(4);
    // Still open: the counts so far show up within a reporting interval or two.
    await expect.poll(() => [msgs("request"), msgs("response")], { timeout: 2000 }).toEqual([2, 4]);
    call.write(Buffer.from("c"));
    call.end();
    await ended;
    await expect.poll(() => [msgs("request"), msgs("response")]).toEqual([3, 6]);
    expect(got).toBe(6);
  });
});
