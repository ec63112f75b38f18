// Istio's in-band TCP metadata exchange between two real weft-proxy processes:
// a client sidecar (sleep-v1) → mTLS with ALPN istio-peer-exchange → a server
// sidecar (tcp-echo-v1) → a plaintext echo app. Both proxies run the configs
// istiod writes (the cluster's filter on the client, the chain's filter on the
// server, istio.stats on both): each side's istio_tcp_* name the other's
// workload, app and version, and the echo comes back byte for byte. Raw TLS
// clients stand in for peers that send garbage, nothing, Istio's own bytes
// (hand-encoded, as an Envoy sidecar sends them) or negotiate no exchange.
import { randomBytes } from "node:crypto";
import { mkdtempSync, rmSync } from "node:fs";
import * as net from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import * as tls from "node:tls";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { decodePeerExchangePayload, encodePeerExchange } from "../istio/peer-exchange-wire.js";
import { freePort } from "../test-util/httpbin.js";
import { istioNode, labelsOf, prometheus, sample, sampleValue, serviceMetadata } from "../test-util/istio-proxy.js";
import { spawnProxy, type ProxyProcess } from "../test-util/spawn-proxy.js";
import { createTestPki, type TestCa, type TestPki } from "../test-util/test-pki.js";
import { downstreamTls, staticSecrets, upstreamTls } from "../test-util/tls-config.js";
import { poller } from "../test-util/until.js";
import { PEER_EXCHANGE_TIMEOUT_MS } from "./peer-exchange.js";

const until = poller({ timeoutMs: 15_000, stepMs: 50 });
const TD = "spiffe://cluster.local";
const CLIENT_ID = `${TD}/ns/bookinfo/sa/sleep`;
const SERVER_ID = `${TD}/ns/bookinfo/sa/tcp-echo`;
const TCP_PROXY = "type.googleapis.com/envoy.extensions.filters.network.tcp_proxy.v3.TcpProxy";
const MX = "type.googleapis.com/envoy.tcp.metadataexchange.config.MetadataExchange";
const STATS = { name: "istio.stats", typed_config: { "@type": "type.googleapis.com/stats.PluginConfig" } };
// istiod 1.22+ writes the filter as a TypedStruct (TCPListenerMx); older ones as the message (TCPClusterMx here).
const MX_LISTENER = { name: "istio.metadata_exchange", typed_config: { "@type": "type.googleapis.com/udpa.type.v1.TypedStruct", type_url: MX, value: { protocol: "istio-peer-exchange" } } };
const MX_CLUSTER = { name: "istio.metadata_exchange", typed_config: { "@type": MX, protocol: "istio-peer-exchange" } };
const tcpProxy = (name: string, cluster: string) => ({ name: "envoy.filters.network.tcp_proxy", typed_config: { "@type": TCP_PROXY, stat_prefix: name, cluster } });
const loopback = (port: number) => ({ address: { socket_address: { address: "127.0.0.1", port_value: port } } });
const admin = (port: number) => ({ admin: loopback(port) });
const MAGIC = "3d230467";

function cluster(name: string, port: number, extra: Record<string, unknown> = {}) {
  return { name, type: "STATIC", connect_timeout: "2s", load_assignment: { cluster_name: name, endpoints: [{ lb_endpoints: [{ endpoint: loopback(port) }] }] }, ...extra };
}

/** Sends `data` through `port`, reads until as many bytes came back, closes; resolves with what came back. */
function echoThrough(port: number, data: Buffer): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const s = net.connect(port, "127.0.0.1", () => s.write(data));
    const got: Buffer[] = [];
    let n = 0;
    s.on("data", (d: Buffer) => {
      got.push(d);
      n += d.length;
      if (n >= data.length) s.end();
    });
    s.on("close", () => resolve(Buffer.concat(got)));
    s.on("error", reject);
  });
}

/** A raw mTLS client of the server sidecar, as a peer of our choosing: its own SPIFFE id and ALPN. */
function rawPeer(port: number, root: TestCa, pki: TestPki, id: string, alpn: string[]) {
  const leaf = pki.leaf(root, { uris: [id] });
  return new Promise<{ socket: tls.TLSSocket; received(n: number): Promise<Buffer>; close(): Promise<void> }>((resolve, reject) => {
    const socket = tls.connect({ host: "127.0.0.1", port, cert: leaf.certPem, key: leaf.keyPem, ca: root.certPem, ALPNProtocols: alpn, servername: "", checkServerIdentity: () => undefined });
    const got: Buffer[] = [];
    let n = 0;
    let waiting: { n: number; wake: () => void } | undefined;
    socket.on("data", (d: Buffer) => {
      got.push(d);
      n += d.length;
      if (waiting && n >= waiting.n) waiting.wake();
    });
    socket.on("error", reject);
    socket.once("secureConnect", () =>
      resolve({
        socket,
        received: (want) =>
          new Promise<Buffer>((r) => {
            const done = () => r(Buffer.concat(got));
            if (n >= want) done();
            else waiting = { n: want, wake: done };
          }),
        close: () =>
          new Promise<void>((r) => {
            socket.once("close", () => r());
            socket.end();
          }),
      }),
    );
  });
}

/** Waits for the server's header and `n` bytes after it. */
async function afterHeader(peer: { received(n: number): Promise<Buffer> }, n: number) {
  const len = (await peer.received(8)).readUInt32BE(4);
  return splitHeader(await peer.received(8 + len + n));
}

/** The server's header at the front of `b`: its peer, and the bytes after it. */
function splitHeader(b: Buffer) {
  expect(b.subarray(0, 4).toString("hex")).toBe(MAGIC);
  const len = b.readUInt32BE(4);
  return { peer: decodePeerExchangePayload(b.subarray(8, 8 + len)), rest: b.subarray(8 + len) };
}

describe("Istio's TCP metadata exchange between two weft-proxy processes in mTLS", () => {
  let pki: TestPki;
  let root: TestCa;
  let dir: string;
  let echo: net.Server;
  let server: ProxyProcess;
  let client: ProxyProcess;
  let serverAdmin: number;
  let clientAdmin: number;
  let inbound: number;
  let outbound: number;
  let outboundNoAlpn: number;

  beforeAll(async () => {
    pki = createTestPki();
    root = pki.ca("cluster-local");
    const clientCert = pki.leaf(root, { uris: [CLIENT_ID] });
    const serverCert = pki.leaf(root, { uris: [SERVER_ID] });
    dir = mkdtempSync(join(tmpdir(), "weft-mx-"));
    echo = net.createServer((s) => s.pipe(s));
    await new Promise<void>((r) => echo.listen(0, "127.0.0.1", r));
    const echoPort = (echo.address() as net.AddressInfo).port;
    [serverAdmin, clientAdmin, inbound, outbound, outboundNoAlpn] = await Promise.all([freePort(), freePort(), freePort(), freePort(), freePort()]);
    // What istiod gives a TCP port under mTLS: the exchange ALPN first on the server, the MX filter first in the chain.
    const inboundTls = downstreamTls({ kind: "static" }, { alpn: ["istio-peer-exchange", "h2", "http/1.1"], san: [{ prefix: `${TD}/` }] });
    const serverBootstrap = {
      node: istioNode("tcp-echo-v1", "tcp-echo", "10.0.0.2"),
      ...admin(serverAdmin),
      static_resources: {
        secrets: staticSecrets(serverCert.certPem, serverCert.keyPem, root.certPem),
        listeners: [
          {
            name: "virtualInbound",
            traffic_direction: "INBOUND",
            ...loopback(inbound),
            filter_chains: [{ name: "0.0.0.0_9000", transport_socket: inboundTls, filters: [MX_LISTENER, { ...STATS, typed_config: { ...STATS.typed_config, disable_host_header_fallback: true } }, tcpProxy("inbound|9000||", "inbound|9000||")] }],
          },
        ],
        clusters: [cluster("inbound|9000||", echoPort, { metadata: serviceMetadata("tcp-echo") })],
      },
    };
    const meshTls = (alpn: string[]) => upstreamTls({ kind: "static" }, { alpn, san: [{ exact: SERVER_ID }], sni: "outbound_.9000_._.tcp-echo.bookinfo.svc.cluster.local" });
    const outboundListener = (name: string, port: number, c: string) => ({ name, traffic_direction: "OUTBOUND", ...loopback(port), filter_chains: [{ filters: [STATS, tcpProxy(name, c)] }] });
    const clientBootstrap = {
      node: istioNode("sleep-v1", "sleep", "10.0.0.1"),
      ...admin(clientAdmin),
      static_resources: {
        secrets: staticSecrets(clientCert.certPem, clientCert.keyPem, root.certPem),
        listeners: [outboundListener("out", outbound, "outbound|9000||tcp-echo.bookinfo.svc.cluster.local"), outboundListener("out-noalpn", outboundNoAlpn, "outbound|9001||tcp-echo.bookinfo.svc.cluster.local")],
        clusters: [
          cluster("outbound|9000||tcp-echo.bookinfo.svc.cluster.local", inbound, { metadata: serviceMetadata("tcp-echo"), transport_socket: meshTls(["istio-peer-exchange", "istio"]), filters: [MX_CLUSTER] }),
          // The same filter, but a TLS context that does not ask for the exchange: ALPN `istio` only.
          cluster("outbound|9001||tcp-echo.bookinfo.svc.cluster.local", inbound, { metadata: serviceMetadata("tcp-echo"), transport_socket: meshTls(["istio"]), filters: [MX_CLUSTER] }),
        ],
      },
    };
    [server, client] = await Promise.all([spawnProxy(dir, "tcp-echo-sidecar", serverBootstrap, serverAdmin), spawnProxy(dir, "sleep-sidecar", clientBootstrap, clientAdmin)]);
  }, 180_000);

  afterAll(async () => {
    await client?.stop();
    await server?.stop();
    echo?.close();
    pki?.cleanup();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it("each side names the other's workload, app and version, and the echo is byte for byte (the exchange never reaches the app)", async () => {
    const data = randomBytes(256 * 1024);
    for (let i = 0; i < 2; i++) expect((await echoThrough(outbound, data)).equals(data)).toBe(true);
    const serverSide = { reporter: "destination", source_principal: CLIENT_ID };
    let text = "";
    await until(async () => sampleValue((text = await prometheus(serverAdmin)), "istio_tcp_connections_closed_total", { ...serverSide, source_workload: "sleep-v1" }) === 2, "the server's two connections to close");
    expect(Object.fromEntries(labelsOf(sample(text, "istio_tcp_connections_opened_total", { ...serverSide, source_workload: "sleep-v1" })!))).toMatchObject({
      source_workload: "sleep-v1",
      source_canonical_service: "sleep",
      source_canonical_revision: "v1",
      source_workload_namespace: "bookinfo",
      source_app: "sleep",
      source_version: "v1",
      source_cluster: "Kubernetes",
      destination_workload: "tcp-echo-v1",
      connection_security_policy: "mutual_tls",
    });
    expect(sampleValue(text, "istio_tcp_connections_opened_total", { ...serverSide, source_workload: "sleep-v1" })).toBe(2);
    // The app received exactly what the client sent: its bytes are the echo's, and the byte counts are the data's plus the exchange's.
    const header = encodePeerExchange({ id: "", metadata: {} }).length;
    expect(sampleValue(text, "istio_tcp_received_bytes_total", { ...serverSide, source_workload: "sleep-v1" })).toBeGreaterThan(2 * data.length + 2 * header);
    const clientSide = { reporter: "source", destination_principal: SERVER_ID, destination_service_name: "tcp-echo" };
    await until(async () => sampleValue((text = await prometheus(clientAdmin)), "istio_tcp_connections_closed_total", { ...clientSide, destination_app: "tcp-echo" }) === 2, "the client's two connections to close");
    expect(Object.fromEntries(labelsOf(sample(text, "istio_tcp_connections_opened_total", { ...clientSide, destination_app: "tcp-echo" })!))).toMatchObject({
      source_workload: "sleep-v1",
      destination_workload: "tcp-echo-v1",
      destination_workload_namespace: "bookinfo",
      destination_app: "tcp-echo",
      destination_version: "v1",
      destination_canonical_service: "tcp-echo",
      destination_canonical_revision: "v1",
      destination_cluster: "Kubernetes",
    });
    // Downstream view: exactly the app's bytes both ways on the client side (the exchange is with the upstream).
    expect(sampleValue(text, "istio_tcp_received_bytes_total", { ...clientSide, destination_app: "tcp-echo" })).toBe(2 * data.length);
    expect(sampleValue(text, "istio_tcp_sent_bytes_total", { ...clientSide, destination_app: "tcp-echo" })).toBe(2 * data.length);
  });

  it("a cluster whose TLS context does not ask for istio-peer-exchange exchanges nothing: unknown peers, data intact", async () => {
    const data = randomBytes(10_000);
    expect((await echoThrough(outboundNoAlpn, data)).equals(data)).toBe(true);
    let text = "";
    const clientSide = { reporter: "source", destination_service_name: "tcp-echo", destination_principal: SERVER_ID, destination_app: "unknown" };
    await until(async () => sampleValue((text = await prometheus(clientAdmin)), "istio_tcp_connections_closed_total", clientSide) === 1, "the client's connection to close");
    expect(sample(text, "istio_tcp_connections_opened_total", clientSide)).toContain('destination_workload="unknown"');
    const serverSide = { reporter: "destination", source_principal: CLIENT_ID, source_workload: "unknown" };
    await until(async () => sampleValue((text = await prometheus(serverAdmin)), "istio_tcp_connections_closed_total", serverSide) === 1, "the server's connection to close");
    expect(sampleValue(text, "istio_tcp_received_bytes_total", serverSide)).toBe(data.length);
    expect(sampleValue(text, "istio_tcp_sent_bytes_total", serverSide)).toBe(data.length);
  });

  it("reads an Istio sidecar's own bytes (hand-encoded) and answers with a header an Istio sidecar reads", async () => {
    const id = `${TD}/ns/bookinfo/sa/istio-envoy`;
    const peer = await rawPeer(inbound, root, pki, id, ["istio-peer-exchange", "istio"]);
    // The bytes an Envoy sidecar of workload "w" sends: peer-exchange-wire.test.ts checks they equal the ones written out by hand from Istio's spec.
    const payload = encodePeerExchange({ id: "n1", metadata: { NAMESPACE: "ns", WORKLOAD_NAME: "w", LABELS: { app: "a", version: "v1" } } });
    peer.socket.write(Buffer.concat([payload, Buffer.from("ping")]));
    const got = await afterHeader(peer, 4);
    expect(got.peer).toMatchObject({ workloadName: "tcp-echo-v1", appName: "tcp-echo", appVersion: "v1", namespace: "bookinfo" });
    expect(got.rest.toString()).toBe("ping");
    await peer.close();
    let text = "";
    await until(async () => sampleValue((text = await prometheus(serverAdmin)), "istio_tcp_connections_closed_total", { source_principal: id }) === 1, "the Istio peer's connection to close");
    expect(sample(text, "istio_tcp_connections_opened_total", { source_principal: id })).toContain('source_workload="w"');
    expect(sample(text, "istio_tcp_connections_opened_total", { source_principal: id })).toContain('source_app="a"');
  });

  it("a peer that negotiated the exchange but sends garbage: unknown labels, its bytes reach the app as they are", async () => {
    const id = `${TD}/ns/bookinfo/sa/garbage`;
    const peer = await rawPeer(inbound, root, pki, id, ["istio-peer-exchange"]);
    const garbage = Buffer.from("GET / HTTP/1.0\r\n\r\n not an exchange");
    peer.socket.write(garbage);
    expect((await afterHeader(peer, garbage.length)).rest.toString()).toBe(garbage.toString());
    await peer.close();
    let text = "";
    await until(async () => sampleValue((text = await prometheus(serverAdmin)), "istio_tcp_connections_closed_total", { source_principal: id }) === 1, "the garbage peer's connection to close");
    expect(sample(text, "istio_tcp_connections_opened_total", { source_principal: id })).toContain('source_workload="unknown"');
    expect(sampleValue(text, "istio_tcp_received_bytes_total", { source_principal: id })).toBe(garbage.length);
  });

  it("a peer that negotiated the exchange but sends nothing: reported unknown after the timeout, while open; data sent later still flows", async () => {
    const id = `${TD}/ns/bookinfo/sa/silent`;
    const peer = await rawPeer(inbound, root, pki, id, ["istio-peer-exchange"]);
    const header = splitHeader(await peer.received(8));
    expect(header.peer?.workloadName).toBe("tcp-echo-v1");
    let text = "";
    const t0 = Date.now();
    await until(async () => sampleValue((text = await prometheus(serverAdmin)), "istio_tcp_connections_opened_total", { source_principal: id }) === 1, "the silent peer to be reported", PEER_EXCHANGE_TIMEOUT_MS + 5_000);
    expect(Date.now() - t0).toBeGreaterThan(PEER_EXCHANGE_TIMEOUT_MS - 1_500);
    expect(sample(text, "istio_tcp_connections_opened_total", { source_principal: id })).toContain('source_workload="unknown"');
    expect(sampleValue(text, "istio_tcp_connections_closed_total", { source_principal: id })).toBe(0);
    const before = (await peer.received(0)).length;
    peer.socket.write("late");
    expect((await peer.received(before + 4)).subarray(before).toString()).toBe("late");
    await peer.close();
  }, 30_000);

  it("a peer without the ALPN: no exchange bytes either way", async () => {
    const id = `${TD}/ns/bookinfo/sa/no-alpn`;
    const peer = await rawPeer(inbound, root, pki, id, ["istio"]);
    expect(peer.socket.alpnProtocol).toBe(false);
    peer.socket.write("plain");
    expect((await peer.received(5)).toString()).toBe("plain");
    await peer.close();
    let text = "";
    await until(async () => sampleValue((text = await prometheus(serverAdmin)), "istio_tcp_connections_closed_total", { source_principal: id }) === 1, "the no-ALPN peer's connection to close");
    expect(sample(text, "istio_tcp_connections_opened_total", { source_principal: id })).toContain('source_workload="unknown"');
    expect(sampleValue(text, "istio_tcp_sent_bytes_total", { source_principal: id })).toBe(5);
  });
});
