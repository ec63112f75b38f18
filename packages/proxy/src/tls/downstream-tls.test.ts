// A TLS listener with Istio's inbound TLS context (static secrets here), hit
// by curl with and without a client certificate, and by clients presenting
// every kind of certificate Weft must refuse.
import { execFile } from "node:child_process";
import { createHash, X509Certificate } from "node:crypto";
import * as http from "node:http";
import * as tls from "node:tls";
import type { AddressInfo } from "node:net";
import { promisify } from "node:util";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { staticCluster, startRuntime, type Harness } from "../test-util/runtime-harness.js";
import { createTestPki, uriSanDerHex, type TestCa, type TestLeaf, type TestPki } from "../test-util/test-pki.js";
import { downstreamTls, staticSecrets } from "../test-util/tls-config.js";

const run = promisify(execFile);
const TD = "spiffe://cluster.local";

describe("DownstreamTlsContext on a filter chain", () => {
  let pki: TestPki;
  let root: TestCa;
  let server: TestLeaf;
  let client: TestLeaf;
  let h: Harness;
  let backend: http.Server;
  let port: number;

  beforeAll(async () => {
    pki = createTestPki();
    root = pki.ca("cluster-local");
    server = pki.leaf(root, { uris: [`${TD}/ns/default/sa/httpbin`], dns: ["localhost"] });
    client = pki.leaf(root, { uris: [`${TD}/ns/default/sa/sleep`] });
    backend = http.createServer((req, res) => {
      res.setHeader("content-type", "application/json");
      res.end(JSON.stringify(req.headers));
    });
    await new Promise<void>((r) => backend.listen(0, "127.0.0.1", r));
    const backendPort = (backend.address() as AddressInfo).port;
    h = await startRuntime({
      secrets: staticSecrets(server.certPem, server.keyPem, root.certPem),
      clusters: [staticCluster("inbound|80||", [backendPort])],
      listeners: [
        {
          name: "inbound-tls",
          address: { socket_address: { address: "127.0.0.1", port_value: 0 } },
          listener_filters: [{ name: "envoy.filters.listener.tls_inspector", typed_config: { "@type": "type.googleapis.com/envoy.extensions.filters.listener.tls_inspector.v3.TlsInspector" } }],
          filter_chains: [
            {
              filter_chain_match: { transport_protocol: "tls" },
              transport_socket: downstreamTls({ kind: "static" }, { alpn: ["h2", "http/1.1"], typedSan: [{ san_type: "URI", matcher: { prefix: `${TD}/` } }] }),
              filters: [
                {
                  name: "envoy.filters.network.http_connection_manager",
                  typed_config: {
                    "@type": "type.googleapis.com/envoy.extensions.filters.network.http_connection_manager.v3.HttpConnectionManager",
                    stat_prefix: "inbound_0.0.0.0_80",
                    forward_client_cert_details: "APPEND_FORWARD",
                    set_current_client_cert_details: { subject: true, dns: true, uri: true },
                    route_config: { name: "inbound", virtual_hosts: [{ name: "all", domains: ["*"], routes: [{ match: { prefix: "/" }, route: { cluster: "inbound|80||" } }] }] },
                    http_filters: [{ name: "envoy.filters.http.router", typed_config: { "@type": "type.googleapis.com/envoy.extensions.filters.http.router.v3.Router" } }],
                  },
                },
              ],
            },
          ],
        },
      ],
    });
    port = h.port("inbound-tls");
  });

  afterAll(async () => {
    await h?.close();
    backend?.close();
    pki?.cleanup();
  });

  const curl = (args: string[]) =>
    run("curl", ["-sS", "--max-time", "5", "--resolve", `localhost:${port}:127.0.0.1`, "--cacert", root.certPath, ...args, `https://localhost:${port}/headers`]);

  it("serves curl with a client certificate and forwards XFCC in Istio's shape", async () => {
    const { stdout } = await curl(["--cert", client.certPath, "--key", client.keyPath, "-H", "x-forwarded-client-cert: By=spoofed"]);
    const seen = JSON.parse(stdout) as Record<string, string>;
    const sha = createHash("sha256").update(new X509Certificate(client.certPem).raw).digest("hex");
    // APPEND_FORWARD keeps what came in (from an mTLS peer) and appends this hop.
    expect(seen["x-forwarded-client-cert"]).toBe(`By=spoofed,By=${TD}/ns/default/sa/httpbin;Hash=${sha};Subject="";URI=${TD}/ns/default/sa/sleep`);
    expect(seen["x-forwarded-proto"]).toBe("https");
    expect(h.stats.get("listener.127.0.0.1_0.ssl.handshake")).toBeGreaterThanOrEqual(1);
  });

  it("negotiates h2 over ALPN with curl --http2", async () => {
    const { stdout } = await run("curl", ["-sS", "--http2", "-o", "/dev/null", "-w", "%{http_version}", "--max-time", "5", "--resolve", `localhost:${port}:127.0.0.1`, "--cacert", root.certPath, "--cert", client.certPath, "--key", client.keyPath, `https://localhost:${port}/`]);
    expect(stdout).toBe("2");
  });

  it("refuses curl without a client certificate during the handshake", async () => {
    const err = await curl([]).then(
      () => undefined,
      (e: { code: number; stderr: string }) => e,
    );
    expect(err).toBeDefined();
    expect(err!.code).not.toBe(0);
    expect(h.stats.get("listener.127.0.0.1_0.ssl.fail_verify_no_cert")).toBeGreaterThanOrEqual(1);
  });

  it("never answers plaintext on the TLS chain", async () => {
    const err = await run("curl", ["-sS", "--max-time", "3", `http://127.0.0.1:${port}/`]).then(
      () => undefined,
      (e: { code: number }) => e,
    );
    expect(err).toBeDefined();
  });

  /** Handshake + one request with a client certificate; resolves with the status or the failure. */
  async function tryClient(leaf: TestLeaf): Promise<string> {
    return new Promise((resolve) => {
      const s = tls.connect({ host: "127.0.0.1", port, servername: "localhost", ca: root.certPem, cert: leaf.certPem, key: leaf.keyPem, ALPNProtocols: ["http/1.1"] }, () => {
        s.write("GET / HTTP/1.1\r\nhost: x\r\nconnection: close\r\n\r\n");
      });
      let data = "";
      s.on("data", (d: Buffer) => (data += d.toString()));
      s.on("error", (e) => resolve(`error: ${e.message}`));
      s.on("close", () => resolve(data ? data.split("\r\n")[0]! : "closed"));
    });
  }

  const bad: Array<[string, (p: TestPki, ca: TestCa) => TestLeaf, string]> = [
    ["an expired certificate", (p, ca) => p.leaf(ca, { uris: [`${TD}/ns/default/sa/sleep`], days: -1 }), "fail_verify_error"],
    ["a certificate from another trust domain's root", (p) => p.leaf(p.ca("other-domain"), { uris: ["spiffe://other.domain/ns/default/sa/sleep"] }), "fail_verify_error"],
    ["two URI SANs", (p, ca) => p.leaf(ca, { uris: [`${TD}/ns/default/sa/sleep`, `${TD}/ns/default/sa/admin`] }), "fail_verify_error"],
    ["a CA=true leaf", (p, ca) => p.leaf(ca, { uris: [`${TD}/ns/default/sa/sleep`], ca: true }), "fail_verify_error"],
    ["a NUL inside the URI SAN", (p, ca) => p.leaf(ca, { sanDerHex: uriSanDerHex(`${TD}/ns/default/sa/sleep\u0000.evil`) }), "fail_verify_error"],
    ["a SAN outside match_typed_subject_alt_names", (p, ca) => p.leaf(ca, { uris: ["spiffe://evil.local/ns/default/sa/sleep"] }), "fail_verify_san"],
  ];
  for (const [what, make, stat] of bad) {
    it(`refuses a client with ${what} (ssl.${stat})`, async () => {
      const before = h.stats.get(`listener.127.0.0.1_0.ssl.${stat}`) ?? 0;
      const errorsBefore = h.stats.get("listener.127.0.0.1_0.ssl.connection_error") ?? 0;
      const result = await tryClient(make(pki, root));
      expect(result).not.toMatch(/^HTTP\/1\.1 200/);
      expect(h.stats.get(`listener.127.0.0.1_0.ssl.${stat}`)).toBe(before + 1);
      expect(h.stats.get("listener.127.0.0.1_0.ssl.connection_error")).toBe(errorsBefore + 1);
    });
  }

  it("accepts the good client through the same path (control for the cases above)", async () => {
    expect(await tryClient(client)).toBe("HTTP/1.1 200 OK");
  });
});
