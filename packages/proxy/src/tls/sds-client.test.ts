// SDS over its own gRPC stream (Istio's sds-grpc on a Unix socket): secrets
// keep serving while the SDS server is gone, the client reconnects and
// resubscribes, and a rotation after that reaches new handshakes.
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import * as tls from "node:tls";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { staticCluster, startRuntime, type Harness } from "../test-util/runtime-harness.js";
import { createTestPki, type TestCa, type TestPki } from "../test-util/test-pki.js";
import { TestSdsServer } from "../test-util/test-sds-server.js";
import { downstreamTls } from "../test-util/tls-config.js";
import { poller } from "../test-util/until.js";

const TCP = { name: "envoy.filters.network.tcp_proxy", typed_config: { "@type": "type.googleapis.com/envoy.extensions.filters.network.tcp_proxy.v3.TcpProxy", stat_prefix: "t", cluster: "blackhole" } };

const until = poller({ timeoutMs: 15_000, stepMs: 50 });

describe("SDS client (api_config_source → static cluster over a Unix socket)", () => {
  let dir: string;
  let pki: TestPki;
  let root: TestCa;
  let sds: TestSdsServer;
  let h: Harness;
  let sock: string;
  const client = () => pki.leaf(root, { uris: ["spiffe://cluster.local/ns/a/sa/client"] });

  async function serverIdentity(): Promise<string> {
    const c = client();
    return new Promise((resolve, reject) => {
      const s = tls.connect({ host: "127.0.0.1", port: h.runtime.boundPort("in")!, ca: root.certPem, cert: c.certPem, key: c.keyPem, checkServerIdentity: () => undefined }, () => {
        resolve(s.getPeerX509Certificate()!.subjectAltName ?? "");
        s.destroy();
      });
      s.on("error", reject);
    });
  }

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), "weft-sds-"));
    sock = join(dir, "SDS");
    pki = createTestPki();
    root = pki.ca("root");
    sds = new TestSdsServer();
    await sds.listen(sock);
    const one = pki.leaf(root, { uris: ["spiffe://cluster.local/ns/a/sa/one"] });
    sds.set("1", { certPem: one.certPem, keyPem: one.keyPem, rootPem: root.certPem });
    h = await startRuntime({
      clusters: [
        { name: "sds-grpc", type: "STATIC", http2_protocol_options: {}, connect_timeout: "1s", load_assignment: { cluster_name: "sds-grpc", endpoints: [{ lb_endpoints: [{ endpoint: { address: { pipe: { path: sock } } } }] }] } },
        staticCluster("blackhole", [9]),
      ],
      listeners: [{ name: "in", address: { socket_address: { address: "127.0.0.1", port_value: 0 } }, filter_chains: [{ transport_socket: downstreamTls({ kind: "grpc", cluster: "sds-grpc" }), filters: [TCP] }] }],
    });
  });
  afterAll(async () => {
    await h?.close();
    await sds?.stop();
    pki?.cleanup();
    rmSync(dir, { recursive: true, force: true });
  });

  it("subscribes default and ROOTCA with the node, and activates the listener", async () => {
    await until(() => h.runtime.boundPort("in") !== undefined, "the listener to activate");
    expect(await serverIdentity()).toBe("URI:spiffe://cluster.local/ns/a/sa/one");
    const first = sds.requests[0]!;
    expect([...first.resourceNames].sort()).toEqual(["ROOTCA", "default"]);
    expect(first.node?.id).toBe("sidecar~127.0.0.1~test.default~default.svc.cluster.local");
    // The ACK carries the version.
    await until(() => sds.requests.some((r) => r.versionInfo === "1"), "the ACK");
  });

  it("keeps serving while the SDS server is down, then reconnects and takes a rotation", async () => {
    await sds.stop();
    expect(await serverIdentity()).toBe("URI:spiffe://cluster.local/ns/a/sa/one");
    sds = new TestSdsServer();
    const two = pki.leaf(root, { uris: ["spiffe://cluster.local/ns/a/sa/two"] });
    sds.set("2", { certPem: two.certPem, keyPem: two.keyPem, rootPem: root.certPem });
    await sds.listen(sock);
    await until(() => h.runtime.dump().secrets.some((s) => s.name === "default" && s.version === "2"), "the rotated secret", 20_000);
    // The reconnect resent the subscription with the version it already held.
    expect(sds.requests[0]!.versionInfo).toBe("1");
    expect(await serverIdentity()).toBe("URI:spiffe://cluster.local/ns/a/sa/two");
  }, 30_000);
});
