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
