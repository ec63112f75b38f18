// Istio's standard metrics between two sidecars, end to end: curl → the
// "productpage" sidecar's outbound listener → the "reviews" sidecar's inbound
// listener → httpbin. Each proxy learns the other from the metadata-exchange
// headers, which neither the app nor curl may see, and each counts the requests
// in /stats/prometheus with Istio's labels: reporter="source" on the client
// side, reporter="destination" on the server side.
import { execFile, spawnSync } from "node:child_process";
import { connect } from "node:net";
import { promisify } from "node:util";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { httpListener, staticCluster } from "../test-util/runtime-harness.js";
import { httpbinAvailable, startHttpbin } from "../test-util/httpbin.js";
import { encodePeerMetadata } from "./peer-metadata.js";
import { istioNode as node, prometheus, serviceMetadata, startIstioProxy, type IstioProxy } from "../test-util/istio-proxy.js";

const run = promisify(execFile);
const hasCurl = spawnSync("curl", ["--version"]).status === 0;
const hasHttpbin = httpbinAvailable();
const hasPromtool = spawnSync("promtool", ["--version"]).status === 0;

const typedStruct = (typeUrl: string, value: Record<string, unknown>) => ({ "@type": "type.googleapis.com/udpa.type.v1.TypedStruct", type_url: typeUrl, value });
const PEER = "type.googleapis.com/io.istio.http.peer_metadata.Config";
const STATS = { name: "istio.stats", typed_config: typedStruct("type.googleapis.com/stats.PluginConfig", {}) };
const ROUTER = { name: "envoy.filters.http.router", typed_config: { "@type": "type.googleapis.com/envoy.extensions.filters.http.router.v3.Router" } };
const INBOUND_MX = { name: "istio.metadata_exchange", typed_config: typedStruct(PEER, { downstream_discovery: [{ istio_headers: {} }], downstream_propagation: [{ istio_headers: {} }] }) };
const OUTBOUND_MX = { name: "istio.metadata_exchange", typed_config: typedStruct(PEER, { upstream_discovery: [{ istio_headers: {} }], upstream_propagation: [{ istio_headers: {} }] }) };

function sidecar(opts: { node: Record<string, unknown>; listener: string; direction: "INBOUND" | "OUTBOUND"; mx: unknown; cluster: string; port: number; endpointWorkload?: string }): string {
  const routes = [{ name: "all", domains: ["*"], routes: [{ name: "default", match: { prefix: "/" }, route: { cluster: opts.cluster } }] }];
  const listener = { ...httpListener(opts.listener, routes, { http_filters: [opts.mx, STATS, ROUTER], access_log: [] }), traffic_direction: opts.direction };
  const cluster = staticCluster(opts.cluster, [opts.port], { metadata: serviceMetadata("reviews") }) as { load_assignment: { endpoints: Array<{ lb_endpoints: Array<Record<string, unknown>> }> } };
  // istiod's EDS: the endpoint's workload as `name;namespace;canonical;revision;cluster`.
  if (opts.endpointWorkload) cluster.load_assignment.endpoints[0]!.lb_endpoints[0]!.metadata = { filter_metadata: { istio: { workload: opts.endpointWorkload } } };
  return JSON.stringify({
    node: opts.node,
    static_resources: { listeners: [listener], clusters: [cluster] },
  });
}

/** Sends raw HTTP/1.1 requests one after the other on one connection; resolves with the status codes. */
function onOneConnection(port: number, requests: string[]): Promise<number[]> {
  return new Promise((resolve, reject) => {
    const sock = connect(port, "127.0.0.1");
    const codes: number[] = [];
    let buf = "";
    const sendNext = () => sock.write(requests[codes.length]!);
    sock.on("connect", sendNext);
    sock.on("data", (d) => {
      buf += d.toString("latin1");
      // httpbin answers /status/N with an empty body and a content-length of 0.
      const m = /^HTTP\/1\.1 (\d{3})[^]*?\r\n\r\n/.exec(buf);
      if (!m) return;
      buf = buf.slice(m[0].length);
      codes.push(Number(m[1]));
      if (codes.length === requests.length) {
        sock.end();
        resolve(codes);
      } else sendNext();
    });
    sock.on("error", reject);
  });
}

/** A started sidecar: its listener's port and its admin's. */
async function start(bootstrap: string, listener: string): Promise<{ proxy: IstioProxy; port: number; admin: number }> {
  const proxy = await startIstioProxy(JSON.parse(bootstrap) as Record<string, unknown>, [listener]);
  return { proxy, port: proxy.port(listener), admin: proxy.admin };
}

/** The sample line of `metric` whose labels include all of `labels`, or undefined. */
function sample(text: string, metric: string, labels: Record<string, string>): string | undefined {
  const want = Object.entries(labels).map(([k, v]) => `${k}="${v}"`);
  return text.split("\n").find((l) => l.startsWith(metric + "{") && want.every((w) => l.includes(w)));
}

const LOCAL_PRODUCTPAGE = { source_workload: "productpage-v1", source_canonical_service: "productpage", source_canonical_revision: "v1", source_workload_namespace: "bookinfo", source_app: "productpage", source_version: "v1", source_cluster: "Kubernetes" };
const LOCAL_REVIEWS = { destination_workload: "reviews-v1", destination_workload_namespace: "bookinfo", destination_app: "reviews", destination_version: "v1", destination_canonical_service: "reviews", destination_canonical_revision: "v1", destination_service_namespace: "bookinfo", destination_cluster: "Kubernetes" };
const SERVICE = { destination_service: "reviews.bookinfo.svc.cluster.local", destination_service_name: "reviews" };

describe.skipIf(!hasCurl || !hasHttpbin)("Istio standard metrics between two sidecars (curl, httpbin)", () => {
  let app: Awaited<ReturnType<typeof startHttpbin>>;
  let server: Awaited<ReturnType<typeof start>>;
  let client: Awaited<ReturnType<typeof start>>;
  // A client sidecar whose upstream (httpbin itself) has no sidecar: no exchange answer, only EDS metadata.
  let direct: Awaited<ReturnType<typeof start>>;

  beforeAll(async () => {
    app = await startHttpbin();
    server = await start(sidecar({ node: node("reviews-v1", "reviews", "10.0.0.2"), listener: "virtualInbound", direction: "INBOUND", mx: INBOUND_MX, cluster: "inbound|9080||", port: app.port }), "virtualInbound");
    client = await start(
      sidecar({ node: node("productpage-v1", "productpage", "10.0.0.1"), listener: "0.0.0.0_9080", direction: "OUTBOUND", mx: OUTBOUND_MX, cluster: "outbound|9080||reviews.bookinfo.svc.cluster.local", port: server.port }),
      "0.0.0.0_9080",
    );
    direct = await start(
      sidecar({ node: node("productpage-v1", "productpage", "10.0.0.1"), listener: "0.0.0.0_8000", direction: "OUTBOUND", mx: OUTBOUND_MX, cluster: "outbound|8000||httpbin.default.svc.cluster.local", port: app.port, endpointWorkload: "httpbin-v1;default;httpbin;v2;Kubernetes" }),
      "0.0.0.0_8000",
    );
  }, 60_000);

  afterAll(async () => {
    await direct?.proxy.stop();
    await client?.proxy.stop();
    await server?.proxy.stop();
    app?.stop();
  });

  it("counts requests on both sides with the peer's identity, and no app sees the exchange headers", async () => {
    const url = `http://127.0.0.1:${client.port}`;
    for (let i = 0; i < 3; i++) {
      const { stdout } = await run("curl", ["-sS", "-D", "-", "-H", "Host: reviews:9080", `${url}/headers`]);
      // httpbin echoes what the app received; curl's own output holds the response headers.
      expect(stdout.toLowerCase()).not.toContain("x-envoy-peer-metadata");
      expect(stdout).toContain('"Host":"reviews:9080"');
    }
    const { stdout: code } = await run("curl", ["-sS", "-o", "/dev/null", "-w", "%{http_code}", "-H", "Host: reviews:9080", `${url}/status/503`]);
    expect(code).toBe("503");

    const dst = await prometheus(server.admin);
    const serverOk = { reporter: "destination", ...LOCAL_REVIEWS, ...SERVICE, source_workload: "productpage-v1", source_app: "productpage", source_canonical_service: "productpage", source_workload_namespace: "bookinfo", source_cluster: "Kubernetes", source_principal: "unknown", request_protocol: "http", connection_security_policy: "none" };
    expect(sample(dst, "istio_requests_total", { ...serverOk, response_code: "200", response_flags: "-" })).toMatch(/ 3$/);
    expect(sample(dst, "istio_requests_total", { ...serverOk, response_code: "503" })).toMatch(/ 1$/);
    expect(sample(dst, "istio_request_duration_milliseconds_count", { ...serverOk, response_code: "200" })).toMatch(/ 3$/);
    expect(sample(dst, "istio_response_bytes_bucket", { ...serverOk, response_code: "200", le: "+Inf" })).toMatch(/ 3$/);
    // Istio's label order, so a series reads the same as Envoy's.
    expect(sample(dst, "istio_requests_total", { response_code: "200" })).toMatch(/^istio_requests_total\{reporter="destination",source_workload="productpage-v1",source_canonical_service="productpage",source_canonical_revision="v1",source_workload_namespace="bookinfo",source_principal="unknown",source_app="productpage",source_version="v1",source_cluster="Kubernetes",destination_workload="reviews-v1",/);

    const src = await prometheus(client.admin);
    const clientOk = { reporter: "source", ...LOCAL_PRODUCTPAGE, ...SERVICE, destination_workload: "reviews-v1", destination_app: "reviews", destination_version: "v1", destination_canonical_service: "reviews", destination_canonical_revision: "v1", destination_workload_namespace: "bookinfo", destination_service_namespace: "bookinfo", destination_cluster: "Kubernetes", connection_security_policy: "unknown" };
    expect(sample(src, "istio_requests_total", { ...clientOk, response_code: "200" })).toMatch(/ 3$/);
    expect(sample(src, "istio_requests_total", { ...clientOk, response_code: "503" })).toMatch(/ 1$/);
    expect(src).toMatch(/^istio_build\{component="proxy",tag="unknown"\} 1$/m);
    expect(src).not.toContain("envoy_istiocustom");

    if (!hasPromtool) console.warn("promtool not found: skipping `promtool check metrics` of the Istio metrics");
    else {
      for (const text of [src, dst]) {
        const r = spawnSync("promtool", ["check", "metrics"], { input: text, encoding: "utf8" });
        // Lints that real Envoy and Istio draw too: Envoy's counters lack "_total", Istio's duration is in ms.
        const lint = (l: string) => l.includes('"_total" suffix') || l.startsWith('istio_request_duration_milliseconds use base unit "seconds"');
        const problems = (r.stdout + r.stderr).split("\n").filter((l) => l.trim() && !lint(l));
        expect(problems).toEqual([]);
      }
    }
  }, 60_000);

  it("labels a caller without exchange headers, or with garbage in them, as unknown and still serves it", async () => {
    const direct = `http://127.0.0.1:${server.port}/headers`;
    const garbage = await run("curl", ["-sS", "-H", "Host: reviews:9080", "-H", "x-envoy-peer-metadata: %%%not-a-struct%%%", "-H", "x-envoy-peer-metadata-id: liar", direct]);
    expect(garbage.stdout.toLowerCase()).not.toContain("x-envoy-peer-metadata");
    await run("curl", ["-sS", "-o", "/dev/null", "-H", "Host: reviews:9080", direct]);
    // A made-up but well-formed identity is taken as sent, as Istio does: the exchange is not authenticated.
    const forged = encodePeerMetadata({ WORKLOAD_NAME: "forged", NAMESPACE: "elsewhere" });
    await run("curl", ["-sS", "-o", "/dev/null", "-H", "Host: reviews:9080", "-H", `x-envoy-peer-metadata: ${forged}`, direct]);
    const dst = await prometheus(server.admin);
    expect(sample(dst, "istio_requests_total", { reporter: "destination", source_workload: "unknown", source_canonical_revision: "latest", source_workload_namespace: "unknown", response_code: "200" })).toMatch(/ 2$/);
    expect(sample(dst, "istio_requests_total", { source_workload: "forged", source_workload_namespace: "elsewhere", response_code: "200" })).toMatch(/ 1$/);
  }, 30_000);

  it("labels an upstream that sent no peer metadata from its endpoint's istio.workload, as Istio's client side does", async () => {
    const url = `http://127.0.0.1:${direct.port}`;
    // One curl, one keep-alive connection: the series follow each request's outcome on it.
    await run("curl", ["-sS", "-o", "/dev/null", "-o", "/dev/null", "-o", "/dev/null", "-H", "Host: httpbin:8000", `${url}/status/200`, `${url}/status/404`, `${url}/status/200`]);
    const src = await prometheus(direct.admin);
    const fromEds = { reporter: "source", ...LOCAL_PRODUCTPAGE, destination_workload: "httpbin-v1", destination_workload_namespace: "default", destination_canonical_service: "httpbin", destination_canonical_revision: "v2", destination_cluster: "Kubernetes", destination_service_namespace: "default", destination_app: "unknown", destination_version: "unknown", destination_principal: "unknown" };
    expect(sample(src, "istio_requests_total", { ...fromEds, response_code: "200" })).toMatch(/ 2$/);
    expect(sample(src, "istio_requests_total", { ...fromEds, response_code: "404" })).toMatch(/ 1$/);
  }, 30_000);

  it("relabels when the peer changes between two requests of one keep-alive connection", async () => {
    const as = (workload: string) => encodePeerMetadata({ WORKLOAD_NAME: workload, NAMESPACE: "bookinfo" });
    const req = (peer: string, status: number) => `GET /status/${status} HTTP/1.1\r\nHost: reviews:9080\r\nx-envoy-peer-metadata: ${peer}\r\nx-envoy-peer-metadata-id: x\r\n\r\n`;
    const codes = await onOneConnection(server.port, [req(as("first-v1"), 201), req(as("first-v1"), 201), req(as("second-v1"), 201), req(as("first-v1"), 202)]);
    expect(codes).toEqual([201, 201, 201, 202]);
    const dst = await prometheus(server.admin);
    expect(sample(dst, "istio_requests_total", { source_workload: "first-v1", response_code: "201" })).toMatch(/ 2$/);
    expect(sample(dst, "istio_requests_total", { source_workload: "second-v1", response_code: "201" })).toMatch(/ 1$/);
    expect(sample(dst, "istio_requests_total", { source_workload: "first-v1", response_code: "202" })).toMatch(/ 1$/);
    expect(sample(dst, "istio_requests_total", { source_workload: "second-v1", response_code: "202" })).toBeUndefined();
  }, 30_000);
});
