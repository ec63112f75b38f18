// CertificateValidationContext's pins and CRLs with real peers: node tls
// clients with openssl-made certificates against a TLS listener (client
// certificates), and TLS backends behind clusters (server certificates).
// verify_certificate_spki / verify_certificate_hash (either list may match),
// crl (inline, in trusted_ca, over SDS in a combined context), only_verify_leaf_cert_crl,
// and FilterChain.transport_socket_connect_timeout.
import { anyPack } from "@bufbuild/protobuf/wkt";
import type { DescMessage } from "@bufbuild/protobuf";
import { createHash, X509Certificate } from "node:crypto";
import * as https from "node:https";
import * as http from "node:http";
import * as net from "node:net";
import * as tls from "node:tls";
import type { AddressInfo } from "node:net";
import { fromEnvoyJson, TypeUrl } from "@weft/xds-api";
import { ListenerSchema } from "@weft/xds-api/gen/envoy/config/listener/v3/listener_pb.js";
import { SecretSchema } from "@weft/xds-api/gen/envoy/extensions/transport_sockets/tls/v3/secret_pb.js";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { httpListener, staticCluster, startRuntime, type Harness } from "../test-util/runtime-harness.js";
import { createTestPki, type TestCa, type TestLeaf, type TestPki } from "../test-util/test-pki.js";
import { staticSecrets } from "../test-util/tls-config.js";

const TYPE = "type.googleapis.com/envoy.extensions.transport_sockets.tls.v3.";
const b64 = (s: string) => Buffer.from(s).toString("base64");
const inline = (s: string) => ({ inline_bytes: b64(s) });
/** Envoy's recipe: base64 SHA-256 of the DER SubjectPublicKeyInfo. */
const spkiOf = (l: TestLeaf) => createHash("sha256").update(new X509Certificate(l.certPem).publicKey.export({ type: "spki", format: "der" })).digest("base64");
/** The 95-character colon-separated upper-case fingerprint (openssl x509 -fingerprint -sha256). */
const fingerprintOf = (l: TestLeaf) => new X509Certificate(l.certPem).fingerprint256;
const hexOf = (l: TestLeaf) => fingerprintOf(l).replace(/:/g, "").toLowerCase();

const ECHO_HCM = {
  name: "envoy.filters.network.http_connection_manager",
  typed_config: {
    "@type": "type.googleapis.com/envoy.extensions.filters.network.http_connection_manager.v3.HttpConnectionManager",
    stat_prefix: "in",
    route_config: { name: "in", virtual_hosts: [{ name: "all", domains: ["*"], routes: [{ match: { prefix: "/" }, route: { cluster: "backend" } }] }] },
    http_filters: [{ name: "envoy.filters.http.router", typed_config: { "@type": "type.googleapis.com/envoy.extensions.filters.http.router.v3.Router" } }],
  },
};

function downstreamListener(name: string, validation: Record<string, unknown>, chain: Record<string, unknown> = {}, combined = false): Record<string, unknown> {
  const vc = combined
    ? { combined_validation_context: { default_validation_context: validation, validation_context_sds_secret_config: { name: "ROOTCA-crl", sds_config: { ads: {}, resource_api_version: "V3", initial_fetch_timeout: "0s" } } } }
    : { validation_context: validation };
  return {
    name,
    address: { socket_address: { address: "127.0.0.1", port_value: 0 } },
    filter_chains: [
      {
        ...chain,
        transport_socket: { name: "envoy.transport_sockets.tls", typed_config: { "@type": TYPE + "DownstreamTlsContext", require_client_certificate: true, common_tls_context: { tls_certificate_sds_secret_configs: [{ name: "default" }], ...vc } } },
        filters: [ECHO_HCM],
      },
    ],
  };
}

function batch(typeUrl: string, schema: DescMessage, items: Array<Record<string, unknown>>, version: string, sotw: boolean) {
  return { typeUrl, version, stateOfTheWorld: sotw, removed: [], resources: items.map((j) => ({ name: String(j.name), version, resource: anyPack(schema, fromEnvoyJson(schema, j as never) as never) })) };
}

describe("verify_certificate_spki / verify_certificate_hash / crl", () => {
  let pki: TestPki;
  let root: TestCa;
  let inter: TestCa;
  let server: TestLeaf;
  const c: Record<"good" | "other" | "third" | "revoked" | "intGood" | "intRevoked", TestLeaf> = {} as never;
  let h: Harness;
  let backend: http.Server;
  const upstreams: https.Server[] = [];
  let rootCrl: string;
  let interCrl: string;

  beforeAll(async () => {
    pki = createTestPki();
    root = pki.ca("pins-root");
    inter = pki.intermediate(root, "pins-inter");
    server = pki.leaf(root, { dns: ["localhost"] });
    for (const k of ["good", "other", "third", "revoked"] as const) c[k] = pki.leaf(root, { uris: [`spiffe://cluster.local/ns/default/sa/${k}`] });
    c.intGood = pki.leaf(inter, { uris: ["spiffe://cluster.local/ns/default/sa/int-good"] });
    c.intRevoked = pki.leaf(inter, { uris: ["spiffe://cluster.local/ns/default/sa/int-revoked"] });
    rootCrl = pki.crl(root, [c.revoked]);
    interCrl = pki.crl(inter, [c.intRevoked]);
    backend = http.createServer((_req, res) => res.end("ok"));
    await new Promise<void>((r) => backend.listen(0, "127.0.0.1", r));
    // TLS backends for the upstream direction, each with its own server certificate.
    const serverPort = async (leaf: TestLeaf): Promise<number> => {
      const s = https.createServer({ cert: leaf.certPem, key: leaf.keyPem }, (_req, res) => res.end("upstream ok"));
      upstreams.push(s);
      await new Promise<void>((r) => s.listen(0, "127.0.0.1", r));
      return (s.address() as AddressInfo).port;
    };
    const up = { good: await serverPort(c.good), other: await serverPort(c.other), revoked: await serverPort(c.revoked) };
    const upCluster = (name: string, port: number, validation: Record<string, unknown>) =>
      staticCluster(name, [port], { transport_socket: { name: "envoy.transport_sockets.tls", typed_config: { "@type": TYPE + "UpstreamTlsContext", common_tls_context: { validation_context: validation } } } });
    const caOnly = { trusted_ca: inline(root.certPem) };
    const upRoutes = ["spki-ok", "spki-bad", "hash-ok", "hash-bad", "crl-ok", "crl-bad"].map((n) => ({ match: { prefix: `/${n}` }, route: { cluster: `up-${n}` } }));
    h = await startRuntime({
      secrets: staticSecrets(server.certPem, server.keyPem, root.certPem),
      clusters: [
        staticCluster("backend", [(backend.address() as AddressInfo).port]),
        upCluster("up-spki-ok", up.good, { ...caOnly, verify_certificate_spki: [spkiOf(c.good)] }),
        upCluster("up-spki-bad", up.other, { ...caOnly, verify_certificate_spki: [spkiOf(c.good)] }),
        upCluster("up-hash-ok", up.good, { ...caOnly, verify_certificate_hash: [fingerprintOf(c.good)] }),
        upCluster("up-hash-bad", up.other, { ...caOnly, verify_certificate_hash: [hexOf(c.good)] }),
        upCluster("up-crl-ok", up.good, { ...caOnly, crl: inline(rootCrl) }),
        upCluster("up-crl-bad", up.revoked, { ...caOnly, crl: inline(rootCrl) }),
      ],
      listeners: [
        downstreamListener("spki", { ...caOnly, verify_certificate_spki: [spkiOf(c.good)] }),
        downstreamListener("hash", { ...caOnly, verify_certificate_hash: [fingerprintOf(c.good)] }),
        downstreamListener("both", { ...caOnly, verify_certificate_hash: [hexOf(c.other).toUpperCase()], verify_certificate_spki: [spkiOf(c.good)] }),
        downstreamListener("crl", { ...caOnly, crl: inline(rootCrl) }),
        downstreamListener("crl-in-ca", { trusted_ca: inline(root.certPem + rootCrl) }),
        downstreamListener("crl-inter-only", { ...caOnly, crl: inline(interCrl) }),
        downstreamListener("crl-inter-all", { ...caOnly, crl: inline(interCrl + rootCrl) }),
        downstreamListener("crl-leaf-only", { ...caOnly, crl: inline(interCrl), only_verify_leaf_cert_crl: true }),
        downstreamListener("timeout", caOnly, { transport_socket_connect_timeout: "0.3s" }),
        httpListener("out", [{ name: "all", domains: ["*"], routes: upRoutes }]),
      ],
    });
  });

  afterAll(async () => {
    await h?.close();
    backend?.close();
    for (const s of upstreams) s.close();
    pki?.cleanup();
  });

  /** Handshake + one request with a client certificate (and chain); the status line, or how it failed. */
  function tryClient(port: number, leaf: TestLeaf, chain = ""): Promise<string> {
    return new Promise((resolve) => {
      const s = tls.connect({ host: "127.0.0.1", port, servername: "localhost", ca: root.certPem, cert: leaf.certPem + chain, key: leaf.keyPem, ALPNProtocols: ["http/1.1"] }, () => {
        s.write("GET / HTTP/1.1\r\nhost: x\r\nconnection: close\r\n\r\n");
      });
      let data = "";
      s.on("data", (d: Buffer) => (data += d.toString()));
      s.on("error", (e) => resolve(`error: ${e.message}`));
      s.on("close", () => resolve(data ? data.split("\r\n")[0]! : "closed"));
    });
  }
  const OK = "HTTP/1.1 200 OK";
  const stat = (name: string) => h.stats.get(`listener.127.0.0.1_0.ssl.${name}`) ?? 0;

  it("verify_certificate_spki: the pinned client key is accepted, another from the same CA refused (ssl.fail_verify_cert_hash)", async () => {
    expect(await tryClient(h.port("spki"), c.good)).toBe(OK);
    const before = stat("fail_verify_cert_hash");
    expect(await tryClient(h.port("spki"), c.other)).not.toBe(OK);
    expect(stat("fail_verify_cert_hash")).toBe(before + 1);
  });

  it("verify_certificate_hash (colon-separated upper case): the pinned client certificate is accepted, another refused", async () => {
    expect(await tryClient(h.port("hash"), c.good)).toBe(OK);
    const before = stat("fail_verify_cert_hash");
    expect(await tryClient(h.port("hash"), c.other)).not.toBe(OK);
    expect(stat("fail_verify_cert_hash")).toBe(before + 1);
  });

  it("both lists set: a match in either accepts (Envoy), neither refuses", async () => {
    expect(await tryClient(h.port("both"), c.good)).toBe(OK); // by SPKI
    expect(await tryClient(h.port("both"), c.other)).toBe(OK); // by hash
    const before = stat("fail_verify_cert_hash");
    expect(await tryClient(h.port("both"), c.third)).not.toBe(OK);
    expect(stat("fail_verify_cert_hash")).toBe(before + 1);
  });

  it("crl: a revoked client certificate is refused (ssl.fail_verify_error), a good one accepted", async () => {
    expect(await tryClient(h.port("crl"), c.good)).toBe(OK);
    const before = stat("fail_verify_error");
    expect(await tryClient(h.port("crl"), c.revoked)).not.toBe(OK);
    expect(stat("fail_verify_error")).toBe(before + 1);
  });

  it("a CRL inside trusted_ca is enforced too, as Envoy loads it", async () => {
    expect(await tryClient(h.port("crl-in-ca"), c.good)).toBe(OK);
    expect(await tryClient(h.port("crl-in-ca"), c.revoked)).not.toBe(OK);
  });

  it("a CRL for only some CAs of the chain fails every certificate of that chain (Envoy's CRL_CHECK_ALL)", async () => {
    const chain = inter.certPem;
    expect(await tryClient(h.port("crl-inter-only"), c.intGood, chain)).not.toBe(OK);
    expect(await tryClient(h.port("crl-inter-only"), c.intRevoked, chain)).not.toBe(OK);
    // with the root's CRL as well, the chain is judged: good accepted, revoked refused
    expect(await tryClient(h.port("crl-inter-all"), c.intGood, chain)).toBe(OK);
    expect(await tryClient(h.port("crl-inter-all"), c.intRevoked, chain)).not.toBe(OK);
  });

  it("only_verify_leaf_cert_crl: only the leaf needs a CRL — good accepted, revoked refused", async () => {
    const chain = inter.certPem;
    expect(await tryClient(h.port("crl-leaf-only"), c.intGood, chain)).toBe(OK);
    const before = stat("fail_verify_error");
    expect(await tryClient(h.port("crl-leaf-only"), c.intRevoked, chain)).not.toBe(OK);
    expect(stat("fail_verify_error")).toBe(before + 1);
    // a leaf whose issuer has no CRL at all is refused (CRL_CHECK needs one)
    expect(await tryClient(h.port("crl-leaf-only"), c.good)).not.toBe(OK);
  });

  it("transport_socket_connect_timeout: a handshake that stalls is closed, listener downstream_cx_transport_socket_connect_timeout counts it", async () => {
    const t0 = Date.now();
    const closedAfter = await new Promise<number>((resolve) => {
      const s = net.connect(h.port("timeout"), "127.0.0.1");
      // half a ClientHello record header, then nothing
      s.on("connect", () => s.write(Buffer.from([0x16, 0x03, 0x01])));
      s.on("error", () => {});
      s.on("close", () => resolve(Date.now() - t0));
    });
    expect(closedAfter).toBeGreaterThanOrEqual(250);
    expect(closedAfter).toBeLessThan(5000);
    expect(h.stats.get("listener.127.0.0.1_0.downstream_cx_transport_socket_connect_timeout")).toBe(1);
    // a client that completes in time is served
    expect(await tryClient(h.port("timeout"), c.good)).toBe(OK);
  });

  async function get(path: string): Promise<number> {
    return new Promise((resolve, reject) => {
      http.get({ host: "127.0.0.1", port: h.port("out"), path, agent: false }, (res) => {
        res.resume();
        res.on("end", () => resolve(res.statusCode!));
      }).on("error", reject);
    });
  }

  it.each([
    ["spki", "fail_verify_cert_hash"],
    ["hash", "fail_verify_cert_hash"],
    ["crl", "fail_verify_error"],
  ])("upstream %s: the pinned/unrevoked server is used, the other refused (503, cluster ssl.%s)", async (kind, statName) => {
    expect(await get(`/${kind}-ok`)).toBe(200);
    expect(await get(`/${kind}-bad`)).toBe(503);
    expect(h.stats.get(`cluster.up-${kind}-bad.ssl.${statName}`)).toBeGreaterThanOrEqual(1);
    expect(h.stats.get(`cluster.up-${kind}-ok.ssl.${statName}`) ?? 0).toBe(0);
  });

  it("over SDS: a combined context's default pins and the SDS secret's trusted_ca + crl all apply", async () => {
    const listener = downstreamListener("sds", { verify_certificate_spki: [spkiOf(c.good), spkiOf(c.revoked)] }, {}, true);
    listener.filter_chains = (listener.filter_chains as Array<Record<string, unknown>>).map((fc) => fc);
    await h.runtime.apply(batch(TypeUrl.Listener, ListenerSchema, [listener], "sds-1", false));
    expect(h.runtime.boundPort("sds")).toBeUndefined(); // warming: ROOTCA-crl not here yet
    const secret = { name: "ROOTCA-crl", validation_context: { trusted_ca: inline(root.certPem), crl: inline(rootCrl) } };
    await h.runtime.apply(batch(TypeUrl.Secret, SecretSchema, [secret], "s1", false));
    await new Promise((r) => setTimeout(r, 50));
    const port = h.runtime.boundPort("sds")!;
    expect(port).toBeGreaterThan(0);
    expect(await tryClient(port, c.good)).toBe(OK);
    expect(await tryClient(port, c.revoked)).not.toBe(OK); // pinned, but revoked by the SDS CRL
    expect(await tryClient(port, c.other)).not.toBe(OK); // not pinned
  });

  it.each([
    ["bad base64 SPKI", { verify_certificate_spki: ["not base64 at all, but forty-four chars!!!!"] }, /validation_context\.verify_certificate_spki\[0\]: invalid base64-encoded SHA-256/],
    ["an SPKI of 33 bytes", { verify_certificate_spki: [Buffer.alloc(33).toString("base64").padEnd(44, "=")] }, /verify_certificate_spki\[0\]: invalid base64-encoded SHA-256/],
    ["bad hex hash", { verify_certificate_hash: ["zz".repeat(32)] }, /validation_context\.verify_certificate_hash\[0\]: invalid hex-encoded SHA-256/],
    ["a hash of the wrong length", { verify_certificate_hash: ["ab".repeat(31) + "abc"] }, /verify_certificate_hash\[0\]: invalid hex-encoded SHA-256/],
    ["a crl that is not PEM", { crl: { inline_string: "nope" } }, /validation_context\.crl: must hold PEM CRLs/],
  ])("NACKs an SDS validation secret with %s, naming the field", async (_what, fields, re) => {
    const err = await h.runtime.apply(batch(TypeUrl.Secret, SecretSchema, [{ name: "bad", validation_context: { trusted_ca: inline(root.certPem), ...fields } }], "bad", false)).then(
      () => undefined,
      (e: unknown) => e as Error,
    );
    expect(err?.message).toMatch(re);
  });
});
