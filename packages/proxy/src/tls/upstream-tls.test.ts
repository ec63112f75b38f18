// UpstreamTlsContext on clusters (HTTP/1.1 pool, HTTP/2 pool, tcp_proxy)
// against real TLS servers: SNI, ALPN and our client certificate reach the
// server; every server certificate Weft must refuse gives 503 UF with the
// TLS failure reason, and never a plaintext fallback.
import { createHash, randomBytes } from "node:crypto";
import * as http from "node:http";
import * as http2 from "node:http2";
import * as net from "node:net";
import * as tls from "node:tls";
import type { AddressInfo } from "node:net";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ACCESS_LOG, httpListener, staticCluster, startRuntime, type Harness } from "../test-util/runtime-harness.js";
import { createTestPki, uriSanDerHex, type TestCa, type TestLeaf, type TestPki } from "../test-util/test-pki.js";
import { staticSecrets, upstreamTls } from "../test-util/tls-config.js";

const TD = "spiffe://cluster.local";
const SERVER_ID = `${TD}/ns/default/sa/httpbin`;
/** A body of many TLS records, to check what the HTTP/1.1 pool hands on is whole. */
const BIG = randomBytes(2 * 1024 * 1024);

interface Seen {
  sni?: string;
  alpn?: string | false | null;
  clientUri?: string;
}

/** An HTTPS (HTTP/1.1 + h2) server with a given certificate that records what the client presented. */
async function tlsBackend(leaf: TestLeaf, root: TestCa, seen: Seen[]): Promise<{ port: number; close(): void }> {
  const handler = (req: http.IncomingMessage | http2.Http2ServerRequest, res: http.ServerResponse | http2.Http2ServerResponse) => res.end(req.url === "/big" ? BIG : `ok ${req.httpVersion}`);
  const h1 = http.createServer(handler);
  const h2 = http2.createServer(handler);
  // h2 when offered, else http/1.1, else whatever the client offered first (Istio's istio-peer-exchange), served as HTTP/1.1.
  const server = tls.createServer({
    cert: leaf.certPem,
    key: leaf.keyPem,
    ca: root.certPem,
    requestCert: true,
    rejectUnauthorized: true,
    ALPNCallback: ({ protocols }) => (protocols.includes("h2") ? "h2" : protocols.includes("http/1.1") ? "http/1.1" : protocols[0]),
  });
  server.on("secureConnection", (s: tls.TLSSocket) => {
    const peer = s.getPeerX509Certificate();
    seen.push({ sni: (s as unknown as { servername?: string }).servername, alpn: s.alpnProtocol, clientUri: peer?.subjectAltName });
    (s.alpnProtocol === "h2" ? h2 : h1).emit("connection", s);
  });
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
  return { port: (server.address() as AddressInfo).port, close: () => server.close() };
}

async function get(port: number, path = "/"): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    http.get({ host: "127.0.0.1", port, path, agent: false }, (res) => {
      let body = "";
      res.on("data", (d) => (body += d));
      res.on("end", () => resolve({ status: res.statusCode!, body }));
    }).on("error", reject);
  });
}

describe("UpstreamTlsContext", () => {
  let pki: TestPki;
  let root: TestCa;
  let clientLeaf: TestLeaf;
  const backends: Array<{ close(): void }> = [];
  let h: Harness;
  const seen: Seen[] = [];
  const ports: Record<string, number> = {};

  const bad: Array<[string, (p: TestPki, ca: TestCa) => TestLeaf, string]> = [
    ["expired", (p, ca) => p.leaf(ca, { uris: [SERVER_ID], days: -1 }), "fail_verify_error"],
    ["other-root", (p) => p.leaf(p.ca("other"), { uris: ["spiffe://other.domain/ns/default/sa/httpbin"] }), "fail_verify_error"],
    ["two-uris", (p, ca) => p.leaf(ca, { uris: [SERVER_ID, `${TD}/ns/default/sa/admin`] }), "fail_verify_error"],
    ["ca-true", (p, ca) => p.leaf(ca, { uris: [SERVER_ID], ca: true }), "fail_verify_error"],
    ["nul-san", (p, ca) => p.leaf(ca, { sanDerHex: uriSanDerHex(`${SERVER_ID}\u0000.evil`) }), "fail_verify_error"],
    ["wrong-san", (p, ca) => p.leaf(ca, { uris: [`${TD}/ns/default/sa/impostor`] }), "fail_verify_san"],
  ];

  beforeAll(async () => {
    pki = createTestPki();
    root = pki.ca("cluster-local");
    clientLeaf = pki.leaf(root, { uris: [`${TD}/ns/default/sa/sleep`] });
    const good = await tlsBackend(pki.leaf(root, { uris: [SERVER_ID] }), root, seen);
    backends.push(good);
    ports.good = good.port;
    for (const [name, make] of bad) {
      const b = await tlsBackend(make(pki, root), root, []);
      backends.push(b);
      ports[name] = b.port;
    }
    const tlsSocket = (sni: string) => upstreamTls({ kind: "static" }, { alpn: ["istio-peer-exchange", "istio"], san: [{ exact: SERVER_ID }], sni });
    const cluster = (name: string, port: number, extra: Record<string, unknown> = {}) => staticCluster(name, [port], { transport_socket: tlsSocket(`outbound_.8000_._.${name}.svc`), ...extra });
    const h2 = { typed_extension_protocol_options: { "envoy.extensions.upstreams.http.v3.HttpProtocolOptions": { "@type": "type.googleapis.com/envoy.extensions.upstreams.http.v3.HttpProtocolOptions", explicit_http_config: { http2_protocol_options: {} } } } };
    const routes = [
      { match: { prefix: "/h2/" }, route: { cluster: "good-h2" } },
      { match: { prefix: "/allowed-wrong-san" }, route: { cluster: "expired-allowed-wrong-san" } },
      { match: { prefix: "/allowed" }, route: { cluster: "expired-allowed" } },
      ...bad.map(([name]) => ({ match: { prefix: `/${name}` }, route: { cluster: name } })),
      { match: { prefix: "/" }, route: { cluster: "good" } },
    ];
    h = await startRuntime({
      secrets: staticSecrets(clientLeaf.certPem, clientLeaf.keyPem, root.certPem),
      clusters: [cluster("good", ports.good), cluster("good-h2", ports.good, { ...h2, transport_socket: upstreamTls({ kind: "static" }, { san: [{ exact: SERVER_ID }] }) }), cluster("good-tcp", ports.good), cluster("expired-tcp", ports.expired), cluster("expired-allowed", ports.expired, { transport_socket: upstreamTls({ kind: "static" }, { san: [{ exact: SERVER_ID }], allowExpired: true }) }), cluster("expired-allowed-wrong-san", ports.expired, { transport_socket: upstreamTls({ kind: "static" }, { san: [{ exact: `${TD}/ns/default/sa/other` }], allowExpired: true }) }), ...bad.map(([name]) => cluster(name, ports[name]))],
      listeners: [
        httpListener("out", [{ name: "all", domains: ["*"], routes }]),
        ...["good-tcp", "expired-tcp"].map((c) => ({
          name: c,
          address: { socket_address: { address: "127.0.0.1", port_value: 0 } },
          filter_chains: [{ filters: [{ name: "envoy.filters.network.tcp_proxy", typed_config: { "@type": "type.googleapis.com/envoy.extensions.filters.network.tcp_proxy.v3.TcpProxy", stat_prefix: c, cluster: c, access_log: ACCESS_LOG } }] }],
        })),
      ],
    });
  });

  afterAll(async () => {
    await h?.close();
    for (const b of backends) b.close();
    pki?.cleanup();
  });

  it("HTTP/1.1 pool: our client certificate, SNI and ALPN reach the server", async () => {
    const r = await get(h.port("out"), "/");
    expect(r).toEqual({ status: 200, body: "ok 1.1" });
    const s = seen.at(-1)!;
    expect(s.sni).toBe("outbound_.8000_._.good.svc");
    expect(s.clientUri).toBe(`URI:${TD}/ns/default/sa/sleep`);
    // The cluster offered istio-peer-exchange,istio only: the server picked its fallback, never h2 on an HTTP/1.1 pool.
    expect(s.alpn).toBe("istio-peer-exchange");
    expect(h.stats.get("cluster.good.ssl.handshake")).toBeGreaterThanOrEqual(1);
  });

  it("HTTP/1.1 pool: keep-alive reuses one TLS connection, and a large body arrives whole", async () => {
    expect((await get(h.port("out"), "/")).body).toBe("ok 1.1");
    const handshakes = h.stats.get("cluster.good.ssl.handshake");
    for (let i = 0; i < 3; i++) expect((await get(h.port("out"), "/")).body).toBe("ok 1.1");
    expect(h.stats.get("cluster.good.ssl.handshake")).toBe(handshakes);
    // %UPSTREAM_LOCAL_ADDRESS% is known for TLS HTTP/1.1 too (the pool owns its sockets).
    expect((await h.logs.waitFor((i) => i.upstreamCluster === "good")).upstreamLocalAddress).toMatch(/^127\.0\.0\.1:\d+$/);
    const big = await new Promise<Buffer>((resolve, reject) => {
      http.get({ host: "127.0.0.1", port: h.port("out"), path: "/big", agent: false }, (res) => {
        const chunks: Buffer[] = [];
        res.on("data", (d: Buffer) => chunks.push(d));
        res.on("end", () => resolve(Buffer.concat(chunks)));
      }).on("error", reject);
    });
    expect(big.length).toBe(BIG.length);
    expect(createHash("sha256").update(big).digest("hex")).toBe(createHash("sha256").update(BIG).digest("hex"));
  });

  it("HTTP/2 pool over TLS: no alpn_protocols configured, so it offers h2 (Envoy's codec fallback)", async () => {
    const r = await get(h.port("out"), "/h2/x");
    expect(r).toEqual({ status: 200, body: "ok 2.0" });
    expect(seen.at(-1)!.alpn).toBe("h2");
  });

  it("tcp_proxy over TLS", async () => {
    const body = await new Promise<string>((resolve, reject) => {
      const s = net.connect(h.port("good-tcp"), "127.0.0.1", () => s.write("GET / HTTP/1.1\r\nhost: x\r\nconnection: close\r\n\r\n"));
      let d = "";
      s.on("data", (x: Buffer) => (d += x));
      s.on("end", () => resolve(d));
      s.on("error", reject);
    });
    expect(body).toMatch(/^HTTP\/1\.1 200/);
    expect(body).toContain("ok 1.1");
  });

  it("tcp_proxy refuses a bad server certificate: UF with the TLS reason, no bytes spliced", async () => {
    const got = await new Promise<string>((resolve) => {
      const s = net.connect(h.port("expired-tcp"), "127.0.0.1", () => s.write("GET / HTTP/1.1\r\nhost: x\r\n\r\n"));
      let d = "";
      s.on("data", (x: Buffer) => (d += x));
      s.on("close", () => resolve(d));
      s.on("error", () => resolve(d));
    });
    expect(got).toBe("");
    const log = await h.logs.waitFor((i) => i.upstreamCluster === "expired-tcp");
    expect(log.responseFlags).toContain("UF");
    expect(log.upstreamTransportFailureReason).toMatch(/^TLS_error:\|.*:TLS_error_end$/);
  });

  it("allow_expired_certificate accepts an expired server but still checks its SAN (verified after the handshake)", async () => {
    expect(await get(h.port("out"), "/allowed")).toEqual({ status: 200, body: "ok 1.1" });
    expect((await get(h.port("out"), "/allowed-wrong-san")).status).toBe(503);
    const log = await h.logs.waitFor((i) => i.upstreamCluster === "expired-allowed-wrong-san");
    expect(log.responseFlags).toContain("UF");
    expect(h.stats.get("cluster.expired-allowed-wrong-san.ssl.fail_verify_san")).toBe(1);
  });

  for (const [name, , stat] of bad) {
    it(`503 UF for a server with ${name} (cluster ssl.${stat})`, async () => {
      const before = h.stats.get(`cluster.${name}.ssl.${stat}`) ?? 0;
      const r = await get(h.port("out"), `/${name}`);
      expect(r.status).toBe(503);
      const log = await h.logs.waitFor((i) => i.upstreamCluster === name);
      expect(log.responseFlags).toContain("UF");
      expect(log.upstreamTransportFailureReason).toMatch(/^TLS_error:\|.*:TLS_error_end$/);
      expect(h.stats.get(`cluster.${name}.ssl.${stat}`)).toBeGreaterThan(before);
      expect(h.stats.get(`cluster.${name}.ssl.connection_error`)).toBeGreaterThan(0);
    });
  }
});
