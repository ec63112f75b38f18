// Secrets through the runtime as the ADS client delivers them (`ads: {}`):
// a TLS listener warms (unbound) until its secrets arrive, a bad secret is
// NACKed naming the field and changes nothing, and /config_dump shows them.
import { anyPack } from "@bufbuild/protobuf/wkt";
import type { DescMessage } from "@bufbuild/protobuf";
import * as tls from "node:tls";
import { fromEnvoyJson, TypeUrl } from "@weft/xds-api";
import { ListenerSchema } from "@weft/xds-api/gen/envoy/config/listener/v3/listener_pb.js";
import { SecretSchema } from "@weft/xds-api/gen/envoy/extensions/transport_sockets/tls/v3/secret_pb.js";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { create } from "@bufbuild/protobuf";
import { BootstrapSchema, buildConfigDump, configDumpJson } from "../admin/config-dump.js";
import { ResourceRejectedError } from "../contracts.js";
import { staticCluster, startRuntime, type Harness } from "../test-util/runtime-harness.js";
import { createTestPki, type TestCa, type TestLeaf, type TestPki } from "../test-util/test-pki.js";
import { downstreamTls, staticSecrets } from "../test-util/tls-config.js";

function batch(typeUrl: string, schema: DescMessage, items: Array<Record<string, unknown>>, version: string, sotw: boolean) {
  return {
    typeUrl,
    version,
    stateOfTheWorld: sotw,
    removed: [],
    resources: items.map((j) => ({ name: String(j.name), version, resource: anyPack(schema, fromEnvoyJson(schema, j as never) as never) })),
  };
}

const TCP = { name: "envoy.filters.network.tcp_proxy", typed_config: { "@type": "type.googleapis.com/envoy.extensions.filters.network.tcp_proxy.v3.TcpProxy", stat_prefix: "t", cluster: "blackhole" } };

describe("secrets over ADS", () => {
  let pki: TestPki;
  let root: TestCa;
  let server: TestLeaf;
  let client: TestLeaf;
  let h: Harness;
  const listener = {
    name: "tls-in",
    address: { socket_address: { address: "127.0.0.1", port_value: 0 } },
    filter_chains: [{ transport_socket: downstreamTls({ kind: "ads" }), filters: [TCP] }],
  };

  beforeAll(async () => {
    pki = createTestPki();
    root = pki.ca("root");
    server = pki.leaf(root, { uris: ["spiffe://cluster.local/ns/a/sa/server"] });
    client = pki.leaf(root, { uris: ["spiffe://cluster.local/ns/a/sa/client"] });
    h = await startRuntime({ clusters: [staticCluster("blackhole", [9])] });
  });
  afterAll(async () => {
    await h?.close();
    pki?.cleanup();
  });

  it("warms a TLS listener until its secrets arrive, and subscribes them", async () => {
    await h.runtime.apply(batch(TypeUrl.Listener, ListenerSchema, [listener], "1", true));
    expect(h.runtime.boundPort("tls-in")).toBeUndefined();
    expect(h.runtime.dump().listeners.find((l) => l.name === "tls-in")?.state).toBe("warming");
    expect(h.runtime.subscriptions().sds.sort()).toEqual(["ROOTCA", "default"]);
  });

  it("NACKs a certificate whose key does not match, naming the secret and field, and stays warming", async () => {
    const [cert] = staticSecrets(server.certPem, client.keyPem, root.certPem);
    const err = await h.runtime.apply(batch(TypeUrl.Secret, SecretSchema, [cert!], "1", false)).then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(err).toBeInstanceOf(ResourceRejectedError);
    expect((err as Error).message).toMatch(/^default: tls_certificate: cannot load the certificate and private key/);
    expect(h.runtime.boundPort("tls-in")).toBeUndefined();
  });

  it("activates once both secrets arrive; handshakes then work and the dump shows them", async () => {
    await h.runtime.apply(batch(TypeUrl.Secret, SecretSchema, staticSecrets(server.certPem, server.keyPem, root.certPem), "2", false));
    await new Promise((r) => setTimeout(r, 50));
    const port = h.runtime.boundPort("tls-in");
    expect(port).toBeGreaterThan(0);
    const peer = await new Promise<string>((resolve, reject) => {
      const s = tls.connect({ host: "127.0.0.1", port: port!, ca: root.certPem, cert: client.certPem, key: client.keyPem, checkServerIdentity: () => undefined }, () => {
        resolve(s.getPeerX509Certificate()!.subjectAltName ?? "");
        s.destroy();
      });
      s.on("error", reject);
    });
    expect(peer).toBe("URI:spiffe://cluster.local/ns/a/sa/server");
    expect(h.runtime.dump().secrets.map((s) => `${s.name}@${s.version}:${s.state}`).sort()).toEqual(["ROOTCA@2:active", "default@2:active"]);
  });

  it("unsubscribes when no listener needs the secrets any more", async () => {
    await h.runtime.apply(batch(TypeUrl.Listener, ListenerSchema, [], "2", true));
    await new Promise((r) => setTimeout(r, 50));
    expect(h.runtime.subscriptions().sds).toEqual([]);
  });
});

// Istio's gateway: one SNI chain per server, each naming its credentialName over ADS with no
// initial_fetch_timeout (so Envoy's 15 s). A Secret that does not exist must not keep the other
// servers of the port from serving once that timeout has passed (Envoy's init targets time out).
describe("a listener whose SDS secret never arrives", () => {
  let pki: TestPki;
  let root: TestCa;
  let good: TestLeaf;
  let other: TestLeaf;
  let h: Harness;
  const chain = (sni: string, secret: string, timeout: string) => ({
    filter_chain_match: { server_names: [sni] },
    transport_socket: {
      name: "envoy.transport_sockets.tls",
      typed_config: {
        "@type": "type.googleapis.com/envoy.extensions.transport_sockets.tls.v3.DownstreamTlsContext",
        common_tls_context: { tls_certificate_sds_secret_configs: [{ name: secret, sds_config: { ads: {}, resource_api_version: "V3", initial_fetch_timeout: timeout } }] },
      },
    },
    filters: [TCP],
  });
  const gateway = (name: string, timeout: string) => ({
    name,
    address: { socket_address: { address: "127.0.0.1", port_value: 0 } },
    listener_filters: [{ name: "envoy.filters.listener.tls_inspector", typed_config: { "@type": "type.googleapis.com/envoy.extensions.filters.listener.tls_inspector.v3.TlsInspector" } }],
    filter_chains: [chain("good.example.com", `kubernetes://good-${name}`, timeout), chain("missing.example.com", `kubernetes://missing-${name}`, timeout)],
  });
  const certSecret = (name: string, leaf: TestLeaf) => ({ name, tls_certificate: { certificate_chain: { inline_string: leaf.certPem }, private_key: { inline_string: leaf.keyPem } } });
  /** The server certificate's DNS SAN for this SNI, or the handshake's error code. */
  const handshake = (port: number, servername: string) =>
    new Promise<string>((resolve) => {
      const s = tls.connect({ host: "127.0.0.1", port, servername, ca: root.certPem }, () => {
        resolve(s.getPeerX509Certificate()!.subjectAltName ?? "");
        s.destroy();
      });
      s.on("error", (e: NodeJS.ErrnoException) => resolve(`error ${e.code ?? e.message}`));
    });

  beforeAll(async () => {
    pki = createTestPki();
    root = pki.ca("root");
    good = pki.leaf(root, { dns: ["good.example.com"] });
    other = pki.leaf(root, { dns: ["missing.example.com"] });
    h = await startRuntime({ clusters: [staticCluster("blackhole", [9])] });
  });
  afterAll(async () => {
    await h?.close();
    pki?.cleanup();
  });

  it("goes active after the missing secret's initial_fetch_timeout: the chain with its secret serves, the other refuses until its secret arrives", async () => {
    await h.runtime.apply(batch(TypeUrl.Listener, ListenerSchema, [gateway("gw", "0.3s")], "1", true));
    await h.runtime.apply(batch(TypeUrl.Secret, SecretSchema, [certSecret("kubernetes://good-gw", good)], "1", false));
    expect(h.runtime.boundPort("gw"), "still warming before the timeout").toBeUndefined();
    await new Promise((r) => setTimeout(r, 600));
    const port = h.runtime.boundPort("gw");
    expect(port, "active once the timeout passed").toBeGreaterThan(0);
    expect(await handshake(port!, "good.example.com")).toBe("DNS:good.example.com");
    expect(await handshake(port!, "missing.example.com")).toMatch(/^error /);
    // Dumped as Envoy dumps a secret it asked for and never got (istioctl: WARMING).
    expect(h.runtime.dump().secrets.filter((x) => x.name.endsWith("-gw")).map((x) => `${x.name}@${x.version}:${x.state}`).sort()).toEqual(["kubernetes://good-gw@1:active", "kubernetes://missing-gw@uninitialized:warming"]);
    // The Secret is created later: that chain serves without a listener update.
    await h.runtime.apply(batch(TypeUrl.Secret, SecretSchema, [certSecret("kubernetes://good-gw", good), certSecret("kubernetes://missing-gw", other)], "2", false));
    await new Promise((r) => setTimeout(r, 50));
    expect(await handshake(port!, "missing.example.com")).toBe("DNS:missing.example.com");
  });

  it("stays warming when the missing secret has initial_fetch_timeout 0 (Istio's workload certificate: wait forever)", async () => {
    await h.runtime.apply(batch(TypeUrl.Listener, ListenerSchema, [gateway("gw", "0.3s"), gateway("forever", "0s")], "2", true));
    await h.runtime.apply(batch(TypeUrl.Secret, SecretSchema, [certSecret("kubernetes://good-forever", good)], "3", false));
    await new Promise((r) => setTimeout(r, 600));
    expect(h.runtime.boundPort("forever")).toBeUndefined();
    expect(h.runtime.dump().listeners.find((l) => l.name === "forever")?.state).toBe("warming");
  });

  it("dumps a listener that serves one version while the next warms as one entry with both states, as Envoy", async () => {
    const port = h.runtime.boundPort("gw");
    // The update adds a server whose Secret never comes (and waits forever for it).
    const update = { ...gateway("gw", "0s"), filter_chains: [chain("good.example.com", "kubernetes://good-gw", "0s"), chain("new.example.com", "kubernetes://new-gw", "0s")] };
    await h.runtime.apply(batch(TypeUrl.Listener, ListenerSchema, [update, gateway("forever", "0s")], "3", true));
    expect(h.runtime.boundPort("gw"), "the active version keeps serving").toBe(port);
    const dump = configDumpJson(buildConfigDump(h.runtime, create(BootstrapSchema), new Date())) as { configs: Array<{ "@type": string; dynamic_listeners?: Array<{ name: string; active_state?: { version_info: string }; warming_state?: { version_info: string } }> }> };
    const gw = dump.configs.find((c) => c["@type"].endsWith("ListenersConfigDump"))!.dynamic_listeners!.filter((l) => l.name === "gw");
    expect(gw).toHaveLength(1);
    expect(gw[0].active_state?.version_info).toBe("2");
    expect(gw[0].warming_state?.version_info).toBe("3");
  });
});
