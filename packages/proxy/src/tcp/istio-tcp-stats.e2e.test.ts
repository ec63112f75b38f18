// Istio's TCP standard metrics through real sockets: a net client → a proxy
// listener whose chain is istio.stats + tcp_proxy → a real upstream that
// answers every byte twice (so sent and received differ), then the proxy's own
// /stats/prometheus. The upstream has no sidecar: the client side labels the
// destination from the endpoint's istio.workload EDS metadata, as Istio does.
import * as net from "node:net";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { freePort } from "../test-util/httpbin.js";
import { istioNode, labelsOf, prometheus, sample, sampleValue, serviceMetadata, startIstioProxy, type IstioProxy } from "../test-util/istio-proxy.js";
import { poller } from "../test-util/until.js";
import { TCP_LABELS } from "../istio/request-labels.js";

const until = poller({ timeoutMs: 10_000, stepMs: 25 });
const TCP_PROXY = "type.googleapis.com/envoy.extensions.filters.network.tcp_proxy.v3.TcpProxy";

/** istio.stats as istiod ≥ 1.22 writes it (the message itself), or in a TypedStruct as older configs do. */
const statsFilter = (config: Record<string, unknown>, typedStruct = false) => ({
  name: "istio.stats",
  typed_config: typedStruct
    ? { "@type": "type.googleapis.com/udpa.type.v1.TypedStruct", type_url: "type.googleapis.com/stats.PluginConfig", value: config }
    : { "@type": "type.googleapis.com/stats.PluginConfig", ...config },
});

function tcpListener(name: string, direction: "INBOUND" | "OUTBOUND", cluster: string, stats: Record<string, unknown>) {
  return {
    name,
    traffic_direction: direction,
    address: { socket_address: { address: "127.0.0.1", port_value: 0 } },
    filter_chains: [{ filters: [stats, { name: "envoy.filters.network.tcp_proxy", typed_config: { "@type": TCP_PROXY, stat_prefix: name, cluster } }] }],
  };
}

/** A cluster of one loopback endpoint whose istio.workload is `workload` (istiod's `name;ns;canonical;revision;cluster`). */
function cluster(name: string, port: number, service: string, workload?: string) {
  return {
    name,
    type: "STATIC",
    connect_timeout: "1s",
    metadata: serviceMetadata(service),
    load_assignment: {
      cluster_name: name,
      endpoints: [{ lb_endpoints: [{ endpoint: { address: { socket_address: { address: "127.0.0.1", port_value: port } } }, ...(workload ? { metadata: { filter_metadata: { istio: { workload } } } } : {}) }] }],
    },
  };
}

/** Connects, writes `chunks` one after the other (each after the previous one came back twice), and resolves when each is answered. */
function openClient(port: number): Promise<{ send(bytes: number): Promise<void>; close(): Promise<void> }> {
  return new Promise((resolve, reject) => {
    const s = net.connect(port, "127.0.0.1");
    let got = 0;
    let want = 0;
    let wake: (() => void) | undefined;
    s.on("data", (d: Buffer) => {
      got += d.length;
      if (got >= want) wake?.();
    });
    s.on("error", reject);
    s.once("connect", () =>
      resolve({
        send: (bytes) =>
          new Promise<void>((r) => {
            want += 2 * bytes;
            wake = r;
            s.write(Buffer.alloc(bytes, 0x61));
          }),
        close: () =>
          new Promise<void>((r) => {
            s.once("close", () => r());
            s.end();
          }),
      }),
    );
  });
}

const PRODUCTPAGE_SOURCE = { source_workload: "productpage-v1", source_canonical_service: "productpage", source_canonical_revision: "v1", source_workload_namespace: "bookinfo", source_app: "productpage", source_version: "v1", source_cluster: "Kubernetes" };

describe("istio.stats before tcp_proxy (net client, real upstream)", () => {
  let upstream: net.Server;
  let proxy: IstioProxy;
  let deadPort: number;

  beforeAll(async () => {
    // Every byte comes back twice: the downstream receives twice what it sent.
    upstream = net.createServer((s) => s.on("data", (d: Buffer) => s.write(Buffer.concat([d, d]))));
    await new Promise<void>((r) => upstream.listen(0, "127.0.0.1", r));
    const up = (upstream.address() as net.AddressInfo).port;
    deadPort = await freePort();
    proxy = await startIstioProxy(
      {
        node: istioNode("productpage-v1", "productpage", "10.0.0.1"),
        static_resources: {
          listeners: [
            tcpListener("out", "OUTBOUND", "outbound|9000||echo.bookinfo.svc.cluster.local", statsFilter({})),
            tcpListener("in", "INBOUND", "inbound|9000||", statsFilter({ disable_host_header_fallback: true }, true)),
            tcpListener("dead", "OUTBOUND", "outbound|9000||gone.bookinfo.svc.cluster.local", statsFilter({})),
            tcpListener("periodic", "OUTBOUND", "outbound|9000||chatty.bookinfo.svc.cluster.local", statsFilter({ tcp_reporting_duration: "0.200s" }, true)),
            tcpListener(
              "trimmed",
              "OUTBOUND",
              "outbound|9000||trimmed.bookinfo.svc.cluster.local",
              statsFilter({ metrics: [{ name: "tcp_sent_bytes_total", drop: true }, { tags_to_remove: ["source_principal", "destination_principal"] }] }),
            ),
          ],
          clusters: [
            cluster("outbound|9000||echo.bookinfo.svc.cluster.local", up, "echo", "echo-v1;bookinfo;echo;v3;Kubernetes"),
            cluster("inbound|9000||", up, "productpage"),
            cluster("outbound|9000||gone.bookinfo.svc.cluster.local", deadPort, "gone", "gone-v1;bookinfo;gone;v1;Kubernetes"),
            cluster("outbound|9000||chatty.bookinfo.svc.cluster.local", up, "chatty"),
            cluster("outbound|9000||trimmed.bookinfo.svc.cluster.local", up, "trimmed"),
          ],
        },
      },
      ["out", "in", "dead", "periodic", "trimmed"],
    );
  }, 30_000);

  afterAll(async () => {
    await proxy?.stop();
    upstream?.close();
  });

  it("counts each connection opened and closed once, and its exact bytes from the downstream's side, in Istio's label order", async () => {
    for (let i = 0; i < 2; i++) {
      const c = await openClient(proxy.port("out"));
      await c.send(1000);
      await c.send(234);
      await c.close();
    }
    const labels = { reporter: "source", destination_service_name: "echo" };
    let text = "";
    await until(async () => sampleValue((text = await prometheus(proxy.admin)), "istio_tcp_connections_closed_total", labels) === 2, "both connections to be closed");
    expect(sampleValue(text, "istio_tcp_connections_opened_total", labels)).toBe(2);
    // received: what the downstream sent; sent: what the proxy wrote back to it (twice as much).
    expect(sampleValue(text, "istio_tcp_received_bytes_total", labels)).toBe(2 * 1234);
    expect(sampleValue(text, "istio_tcp_sent_bytes_total", labels)).toBe(2 * 2468);
    const line = sample(text, "istio_tcp_connections_opened_total", labels)!;
    expect(labelsOf(line).map(([k]) => k)).toEqual(TCP_LABELS);
    expect(Object.fromEntries(labelsOf(line))).toEqual({
      reporter: "source",
      ...PRODUCTPAGE_SOURCE,
      source_principal: "unknown",
      // From the endpoint's istio.workload: the upstream sent no peer metadata (Weft speaks no TCP exchange).
      destination_workload: "echo-v1",
      destination_workload_namespace: "bookinfo",
      destination_principal: "unknown",
      destination_app: "unknown",
      destination_version: "unknown",
      destination_service: "echo.bookinfo.svc.cluster.local",
      destination_canonical_service: "echo",
      destination_canonical_revision: "v3",
      destination_service_name: "echo",
      destination_service_namespace: "bookinfo",
      destination_cluster: "Kubernetes",
      request_protocol: "tcp",
      response_flags: "-",
      connection_security_policy: "unknown",
    });
    expect(text).not.toContain("envoy_istiocustom");
  });

  it("reports as the destination on an INBOUND listener, the local workload being the destination", async () => {
    const c = await openClient(proxy.port("in"));
    await c.send(10);
    await c.close();
    const labels = { reporter: "destination" };
    let text = "";
    await until(async () => sampleValue((text = await prometheus(proxy.admin)), "istio_tcp_connections_closed_total", labels) === 1, "the inbound connection to be closed");
    expect(sampleValue(text, "istio_tcp_received_bytes_total", labels)).toBe(10);
    expect(sampleValue(text, "istio_tcp_sent_bytes_total", labels)).toBe(20);
    expect(sample(text, "istio_tcp_connections_opened_total", labels)).toBeDefined();
    expect(Object.fromEntries(labelsOf(sample(text, "istio_tcp_connections_opened_total", labels)!))).toMatchObject({
      source_workload: "unknown",
      source_principal: "unknown",
      destination_workload: "productpage-v1",
      destination_service_name: "productpage",
      request_protocol: "tcp",
      response_flags: "-",
      // Plaintext downstream: the server side knows there was no mTLS.
      connection_security_policy: "none",
    });
  });

  it("counts a connection to a dead upstream, opened and closed at once, with response_flags UF", async () => {
    await new Promise<void>((resolve) => {
      const s = net.connect(proxy.port("dead"), "127.0.0.1");
      s.on("error", () => {});
      s.on("close", () => resolve());
    });
    const labels = { destination_service_name: "gone" };
    let text = "";
    await until(async () => sampleValue((text = await prometheus(proxy.admin)), "istio_tcp_connections_closed_total", labels) === 1, "the failed connection to be counted");
    expect(sampleValue(text, "istio_tcp_connections_opened_total", labels)).toBe(1);
    expect(sample(text, "istio_tcp_connections_opened_total", labels)).toContain('destination_workload="gone-v1"');
    expect(sample(text, "istio_tcp_connections_opened_total", labels)).toContain('response_flags="UF"');
    expect(sampleValue(text, "istio_tcp_sent_bytes_total", labels)).toBe(0);
  });

  it("reports the bytes of an open connection every tcp_reporting_duration, before it closes", async () => {
    const labels = { destination_service_name: "chatty" };
    const c = await openClient(proxy.port("periodic"));
    await c.send(100);
    let text = "";
    await until(async () => sampleValue((text = await prometheus(proxy.admin)), "istio_tcp_received_bytes_total", labels) === 100, "the first periodic report");
    expect(sampleValue(text, "istio_tcp_sent_bytes_total", labels)).toBe(200);
    expect(sampleValue(text, "istio_tcp_connections_opened_total", labels)).toBe(1);
    expect(sampleValue(text, "istio_tcp_connections_closed_total", labels)).toBe(0);
    await c.send(50);
    await until(async () => sampleValue((text = await prometheus(proxy.admin)), "istio_tcp_received_bytes_total", labels) === 150, "the next periodic report");
    expect(sampleValue(text, "istio_tcp_sent_bytes_total", labels)).toBe(300);
    expect(sampleValue(text, "istio_tcp_connections_closed_total", labels)).toBe(0);
    await c.close();
    await until(async () => sampleValue((text = await prometheus(proxy.admin)), "istio_tcp_connections_closed_total", labels) === 1, "the close");
    // The report at close adds only what the periodic ones had not.
    expect(sampleValue(text, "istio_tcp_received_bytes_total", labels)).toBe(150);
    expect(sampleValue(text, "istio_tcp_sent_bytes_total", labels)).toBe(300);
    expect(sampleValue(text, "istio_tcp_connections_opened_total", labels)).toBe(1);
  });

  it("honours PluginConfig metrics overrides: a dropped metric and removed tags", async () => {
    const c = await openClient(proxy.port("trimmed"));
    await c.send(7);
    await c.close();
    const labels = { destination_service_name: "trimmed" };
    let text = "";
    await until(async () => sampleValue((text = await prometheus(proxy.admin)), "istio_tcp_connections_closed_total", labels) === 1, "the trimmed connection to be closed");
    expect(sampleValue(text, "istio_tcp_received_bytes_total", labels)).toBe(7);
    expect(sample(text, "istio_tcp_sent_bytes_total", labels)).toBeUndefined();
    const keys = labelsOf(sample(text, "istio_tcp_connections_opened_total", labels)!).map(([k]) => k);
    expect(keys).toEqual(TCP_LABELS.filter((l) => l !== "source_principal" && l !== "destination_principal"));
  });
});
