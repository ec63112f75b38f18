// The upstream TLS identity, end to end: a client sidecar (productpage) →
// mTLS → a server sidecar (reviews) → plaintext apps, every hop a real socket.
// The client learns who both ends of each upstream TLS connection are once,
// at the handshake, and its istio.stats labels with it: source_principal is
// its own SPIFFE id, destination_principal the server's (HTTP/1.1 and HTTP/2
// pools, and tcp_proxy); the server side sees the client's certificate and
// says mutual_tls.
import * as http from "node:http";
import * as net from "node:net";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { istioNode, prometheus, sample, sampleValue, serviceMetadata, startIstioProxy, type IstioProxy } from "../test-util/istio-proxy.js";
import { createTestPki, type TestPki } from "../test-util/test-pki.js";
import { downstreamTls, staticSecrets, upstreamTls } from "../test-util/tls-config.js";
import { poller } from "../test-util/until.js";

const until = poller({ timeoutMs: 10_000, stepMs: 25 });
const TD = "spiffe://cluster.local";
const CLIENT_ID = `${TD}/ns/bookinfo/sa/bookinfo-productpage`;
const SERVER_ID = `${TD}/ns/bookinfo/sa/bookinfo-reviews`;
const HCM = "type.googleapis.com/envoy.extensions.filters.network.http_connection_manager.v3.HttpConnectionManager";
const TCP_PROXY = "type.googleapis.com/envoy.extensions.filters.network.tcp_proxy.v3.TcpProxy";
const STATS = { name: "istio.stats", typed_config: { "@type": "type.googleapis.com/stats.PluginConfig" } };
const ROUTER = { name: "envoy.filters.http.router", typed_config: { "@type": "type.googleapis.com/envoy.extensions.filters.http.router.v3.Router" } };
const H2 = { typed_extension_protocol_options: { "envoy.extensions.upstreams.http.v3.HttpProtocolOptions": { "@type": "type.googleapis.com/envoy.extensions.upstreams.http.v3.HttpProtocolOptions", explicit_http_config: { http2_protocol_options: {} } } } };

const hcm = (name: string, routes: unknown[]) => ({
  name: "envoy.filters.network.http_connection_manager",
  typed_config: { "@type": HCM, stat_prefix: name, route_config: { name, virtual_hosts: [{ name, domains: ["*"], routes }] }, http_filters: [STATS, ROUTER] },
});
const tcpProxy = (name: string, cluster: string) => ({ name: "envoy.filters.network.tcp_proxy", typed_config: { "@type": TCP_PROXY, stat_prefix: name, cluster } });
const loopback = (port: number) => ({ address: { socket_address: { address: "127.0.0.1", port_value: port } } });

function cluster(name: string, port: number, extra: Record<string, unknown> = {}) {
  return { name, type: "STATIC", connect_timeout: "2s", load_assignment: { cluster_name: name, endpoints: [{ lb_endpoints: [{ endpoint: loopback(port) }] }] }, ...extra };
}

/** The client's mTLS to the server sidecar, offering Istio's ALPN for the protocol. */
const meshTls = (alpn: string[]) => upstreamTls({ kind: "static" }, { alpn, san: [{ exact: SERVER_ID }], sni: "outbound_.9080_._.reviews.bookinfo.svc.cluster.local" });

function request(port: number, path: string): Promise<number> {
  return new Promise((resolve, reject) => {
    http
      .get({ host: "127.0.0.1", port, path, agent: false }, (res) => {
        res.resume();
        res.on("end", () => resolve(res.statusCode ?? 0));
      })
      .on("error", reject);
  });
}

/** One TCP connection through the client sidecar: writes `bytes`, waits for the echo, closes. */
function tcpRoundTrip(port: number, bytes: number): Promise<void> {
  return new Promise((resolve, reject) => {
    const s = net.connect(port, "127.0.0.1", () => s.write(Buffer.alloc(bytes, 0x62)));
    let got = 0;
    s.on("data", (d: Buffer) => {
      got += d.length;
      if (got >= bytes) s.end();
    });
    s.on("close", () => (got >= bytes ? resolve() : reject(new Error(`echo incomplete: ${got}/${bytes}`))));
    s.on("error", reject);
  });
}

describe("the upstream TLS identity in istio.stats (two sidecars in mTLS)", () => {
  let pki: TestPki;
  let app: http.Server;
  let echo: net.Server;
  let server: IstioProxy;
  let client: IstioProxy;

  beforeAll(async () => {
    pki = createTestPki();
    const root = pki.ca("cluster-local");
    const clientCert = pki.leaf(root, { uris: [CLIENT_ID] });
    const serverCert = pki.leaf(root, { uris: [SERVER_ID] });
    // The app answers 201 to requests that came through the HTTP/2 cluster, to tell the pools apart.
    app = http.createServer((req, res) => res.writeHead(req.url?.startsWith("/h2") ? 201 : 200).end("ok"));
    echo = net.createServer((s) => s.pipe(s));
    await Promise.all([new Promise<void>((r) => app.listen(0, "127.0.0.1", r)), new Promise<void>((r) => echo.listen(0, "127.0.0.1", r))]);
    const appPort = (app.address() as net.AddressInfo).port;
    const echoPort = (echo.address() as net.AddressInfo).port;
    const inboundTls = downstreamTls({ kind: "static" }, { alpn: ["h2", "http/1.1"], san: [{ prefix: `${TD}/` }] });
    server = await startIstioProxy(
      {
        node: istioNode("reviews-v1", "reviews", "10.0.0.2"),
        static_resources: {
          secrets: staticSecrets(serverCert.certPem, serverCert.keyPem, root.certPem),
          listeners: [
            {
              name: "virtualInbound",
              traffic_direction: "INBOUND",
              ...loopback(0),
              listener_filters: [{ name: "envoy.filters.listener.tls_inspector", typed_config: { "@type": "type.googleapis.com/envoy.extensions.filters.listener.tls_inspector.v3.TlsInspector" } }],
              filter_chains: [
                {
                  name: "0.0.0.0_9080",
                  filter_chain_match: { transport_protocol: "tls", application_protocols: ["istio-http/1.1", "istio-h2"] },
                  transport_socket: inboundTls,
                  filters: [hcm("inbound_0.0.0.0_9080", [{ match: { prefix: "/" }, route: { cluster: "inbound|9080||" } }])],
                },
                { name: "0.0.0.0_9000", filter_chain_match: { transport_protocol: "tls" }, transport_socket: inboundTls, filters: [STATS, tcpProxy("inbound|9000||", "inbound|9000||")] },
              ],
            },
          ],
          clusters: [cluster("inbound|9080||", appPort, { metadata: serviceMetadata("reviews") }), cluster("inbound|9000||", echoPort, { metadata: serviceMetadata("reviews") })],
        },
      },
      ["virtualInbound"],
    );
    const inbound = server.port("virtualInbound");
    const reviews = (port: number) => `outbound|${port}||reviews.bookinfo.svc.cluster.local`;
    client = await startIstioProxy(
      {
        node: istioNode("productpage-v1", "productpage", "10.0.0.1"),
        static_resources: {
          secrets: staticSecrets(clientCert.certPem, clientCert.keyPem, root.certPem),
          listeners: [
            {
              name: "0.0.0.0_9080",
              traffic_direction: "OUTBOUND",
              ...loopback(0),
              filter_chains: [
                {
                  filters: [
                    hcm("outbound_0.0.0.0_9080", [
                      { match: { prefix: "/h2" }, route: { cluster: reviews(9081) } },
                      { match: { prefix: "/" }, route: { cluster: reviews(9080) } },
                    ]),
                  ],
                },
              ],
            },
            { name: "0.0.0.0_9000", traffic_direction: "OUTBOUND", ...loopback(0), filter_chains: [{ filters: [STATS, tcpProxy("outbound|9000||reviews", reviews(9000))] }] },
          ],
          clusters: [
            cluster(reviews(9080), inbound, { metadata: serviceMetadata("reviews"), transport_socket: meshTls(["istio-http/1.1", "http/1.1"]) }),
            cluster(reviews(9081), inbound, { metadata: serviceMetadata("reviews"), transport_socket: meshTls(["istio-h2", "h2"]), ...H2 }),
            cluster(reviews(9000), inbound, { metadata: serviceMetadata("reviews"), transport_socket: meshTls(["istio-peer-exchange", "istio"]) }),
          ],
        },
      },
      ["0.0.0.0_9080", "0.0.0.0_9000"],
    );
  }, 60_000);

  afterAll(async () => {
    await client?.stop();
    await server?.stop();
    app?.close();
    echo?.close();
    pki?.cleanup();
  });

  const principals = { source_principal: CLIENT_ID, destination_principal: SERVER_ID };

  it("HTTP over the HTTP/1.1 and HTTP/2 pools: the client labels both principals, the server says mutual_tls", async () => {
    const port = client.port("0.0.0.0_9080");
    // Two requests per pool, so the second rides a reused connection whose identity was read at its handshake.
    expect([await request(port, "/a"), await request(port, "/b"), await request(port, "/h2/a"), await request(port, "/h2/b")]).toEqual([200, 200, 201, 201]);
    const clientSide = { reporter: "source", ...principals, destination_workload_namespace: "bookinfo", destination_service_namespace: "bookinfo", destination_service_name: "reviews", connection_security_policy: "unknown" };
    let text = "";
    await until(async () => sampleValue((text = await prometheus(client.admin)), "istio_requests_total", { ...clientSide, response_code: "201" }) === 2, "the client's HTTP/2 requests");
    expect(sampleValue(text, "istio_requests_total", { ...clientSide, response_code: "200" })).toBe(2);
    const serverSide = { reporter: "destination", ...principals, source_workload_namespace: "bookinfo", destination_workload: "reviews-v1", connection_security_policy: "mutual_tls" };
    await until(async () => sampleValue((text = await prometheus(server.admin)), "istio_requests_total", { ...serverSide, response_code: "201" }) === 2, "the server's requests");
    expect(sampleValue(text, "istio_requests_total", { ...serverSide, response_code: "200" })).toBe(2);
  });

  it("TCP: the client's tcp metrics carry both principals, the server's say mutual_tls", async () => {
    await tcpRoundTrip(client.port("0.0.0.0_9000"), 4096);
    const clientSide = { reporter: "source", ...principals, destination_workload_namespace: "bookinfo", request_protocol: "tcp", response_flags: "-", connection_security_policy: "unknown" };
    let text = "";
    await until(async () => sampleValue((text = await prometheus(client.admin)), "istio_tcp_connections_closed_total", clientSide) === 1, "the client's TCP connection to close");
    expect(sampleValue(text, "istio_tcp_connections_opened_total", clientSide)).toBe(1);
    expect(sampleValue(text, "istio_tcp_received_bytes_total", clientSide)).toBe(4096);
    expect(sampleValue(text, "istio_tcp_sent_bytes_total", clientSide)).toBe(4096);
    const serverSide = { reporter: "destination", ...principals, source_workload_namespace: "bookinfo", request_protocol: "tcp", connection_security_policy: "mutual_tls" };
    await until(async () => sampleValue((text = await prometheus(server.admin)), "istio_tcp_connections_closed_total", serverSide) === 1, "the server's TCP connection to close");
    expect(sampleValue(text, "istio_tcp_received_bytes_total", serverSide)).toBe(4096);
    expect(sample(text, "istio_tcp_connections_opened_total", serverSide)).toBeDefined();
  });
});
