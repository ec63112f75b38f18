// ALLOW by principal over real mTLS: curl (HTTP rbac on authenticated.principal_name)
// and a TLS client through tcp_proxy (istio_authn + network rbac on the
// filter state io.istio.peer_principal), with Istio's inbound TLS context.
import { execFile } from "node:child_process";
import * as http from "node:http";
import * as net from "node:net";
import * as tls from "node:tls";
import { promisify } from "node:util";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { staticCluster, startRuntime, type Harness } from "../test-util/runtime-harness.js";
import { createTestPki, type TestCa, type TestLeaf, type TestPki } from "../test-util/test-pki.js";
import { downstreamTls, staticSecrets } from "../test-util/tls-config.js";

const run = promisify(execFile);
const TD = "spiffe://cluster.local";
const SLEEP = `${TD}/ns/default/sa/sleep`;
const TLS_INSPECTOR = { name: "envoy.filters.listener.tls_inspector", typed_config: { "@type": "type.googleapis.com/envoy.extensions.filters.listener.tls_inspector.v3.TlsInspector" } };
const ISTIO_AUTHN = { name: "istio_authn", typed_config: { "@type": "type.googleapis.com/udpa.type.v1.TypedStruct", type_url: "type.googleapis.com/io.istio.network.authn.Config" } };

describe("RBAC ALLOW by the mTLS peer's SPIFFE identity", () => {
  let pki: TestPki;
  let root: TestCa;
  let server: TestLeaf;
  let sleep: TestLeaf;
  let other: TestLeaf;
  let h: Harness;
  let backend: http.Server;
  let echo: net.Server;

  beforeAll(async () => {
    pki = createTestPki();
    root = pki.ca("cluster-local");
    server = pki.leaf(root, { uris: [`${TD}/ns/default/sa/httpbin`], dns: ["localhost"] });
    sleep = pki.leaf(root, { uris: [SLEEP] });
    other = pki.leaf(root, { uris: [`${TD}/ns/other/sa/attacker`] });
    backend = http.createServer((_req, res) => res.end("served"));
    await new Promise<void>((r) => backend.listen(0, "127.0.0.1", r));
    echo = net.createServer((s) => s.pipe(s));
    await new Promise<void>((r) => echo.listen(0, "127.0.0.1", r));
    const tlsChain = (filters: unknown[]) => ({
      filter_chain_match: { transport_protocol: "tls" },
      transport_socket: downstreamTls({ kind: "static" }, { alpn: ["http/1.1"], typedSan: [{ san_type: "URI", matcher: { prefix: `${TD}/` } }] }),
      filters,
    });
    h = await startRuntime({
      secrets: staticSecrets(server.certPem, server.keyPem, root.certPem),
      clusters: [staticCluster("backend", [(backend.address() as net.AddressInfo).port]), staticCluster("echo", [(echo.address() as net.AddressInfo).port])],
      listeners: [
        {
          name: "http-mtls",
          address: { socket_address: { address: "127.0.0.1", port_value: 0 } },
          listener_filters: [TLS_INSPECTOR],
          filter_chains: [
            tlsChain([
              ISTIO_AUTHN,
              {
                name: "envoy.filters.network.http_connection_manager",
                typed_config: {
                  "@type": "type.googleapis.com/envoy.extensions.filters.network.http_connection_manager.v3.HttpConnectionManager",
                  stat_prefix: "inbound_8080",
                  route_config: { name: "r", virtual_hosts: [{ name: "all", domains: ["*"], routes: [{ match: { prefix: "/" }, route: { cluster: "backend" } }] }] },
                  http_filters: [
                    {
                      name: "envoy.filters.http.rbac",
                      typed_config: {
                        "@type": "type.googleapis.com/envoy.extensions.filters.http.rbac.v3.RBAC",
                        rules: {
                          policies: {
                            "ns[default]-policy[allow-sleep]-rule[0]": {
                              permissions: [{ and_rules: { rules: [{ or_rules: { rules: [{ header: { name: ":method", exact_match: "GET" } }] } }] } }],
                              principals: [{ and_ids: { ids: [{ or_ids: { ids: [{ authenticated: { principal_name: { exact: SLEEP } } }] } }] } }],
                            },
                          },
                        },
                      },
                    },
                    { name: "envoy.filters.http.router", typed_config: { "@type": "type.googleapis.com/envoy.extensions.filters.http.router.v3.Router" } },
                  ],
                },
              },
            ]),
          ],
        },
        {
          // No tls_inspector: the requested server name comes from the handshake itself.
          name: "tcp-sni",
          address: { socket_address: { address: "127.0.0.1", port_value: 0 } },
          filter_chains: [
            {
              transport_socket: downstreamTls({ kind: "static" }, { typedSan: [{ san_type: "URI", matcher: { prefix: `${TD}/` } }] }),
              filters: [
                {
                  name: "envoy.filters.network.rbac",
                  typed_config: {
                    "@type": "type.googleapis.com/envoy.extensions.filters.network.rbac.v3.RBAC",
                    stat_prefix: "sni.",
                    rules: { policies: { p: { permissions: [{ requested_server_name: { exact: "localhost" } }], principals: [{ authenticated: { principal_name: { exact: SLEEP } } }] } } },
                  },
                },
                { name: "envoy.filters.network.tcp_proxy", typed_config: { "@type": "type.googleapis.com/envoy.extensions.filters.network.tcp_proxy.v3.TcpProxy", stat_prefix: "echo2", cluster: "echo" } },
              ],
            },
          ],
        },
        {
          name: "tcp-mtls",
          address: { socket_address: { address: "127.0.0.1", port_value: 0 } },
          listener_filters: [TLS_INSPECTOR],
          filter_chains: [
            tlsChain([
              ISTIO_AUTHN,
              {
                name: "envoy.filters.network.rbac",
                typed_config: {
                  "@type": "type.googleapis.com/envoy.extensions.filters.network.rbac.v3.RBAC",
                  stat_prefix: "tcp.",
                  rules: { policies: { "ns[default]-policy[allow-sleep]-rule[0]": { permissions: [{ any: true }], principals: [{ filter_state: { key: "io.istio.peer_principal", string_match: { exact: SLEEP } } }] } } },
                },
              },
              { name: "envoy.filters.network.tcp_proxy", typed_config: { "@type": "type.googleapis.com/envoy.extensions.filters.network.tcp_proxy.v3.TcpProxy", stat_prefix: "echo", cluster: "echo" } },
            ]),
          ],
        },
      ],
    });
  });

  afterAll(async () => {
    await h?.close();
    backend?.close();
    echo?.close();
    pki?.cleanup();
  });

  const curl = (leaf: TestLeaf, method = "GET") => {
    const port = h.port("http-mtls");
    return run("curl", ["-sS", "-X", method, "-o", "-", "-w", "\n%{http_code}", "--max-time", "5", "--resolve", `localhost:${port}:127.0.0.1`, "--cacert", root.certPath, "--cert", leaf.certPath, "--key", leaf.keyPath, `https://localhost:${port}/`]);
  };

  it("HTTP: sleep's certificate is allowed, another workload's is denied 403, and a POST by sleep too", async () => {
    expect((await curl(sleep)).stdout).toBe("served\n200");
    expect((await curl(other)).stdout).toBe("RBAC: access denied\n403");
    expect((await curl(sleep, "POST")).stdout).toBe("RBAC: access denied\n403");
    expect(h.stats.get("http.inbound_8080.rbac.allowed")).toBe(1);
    expect(h.stats.get("http.inbound_8080.rbac.denied")).toBe(2);
  });

  const tcpExchange = (leaf: TestLeaf, listener = "tcp-mtls", servername = "localhost") =>
    new Promise<string>((resolve) => {
      const s = tls.connect({ host: "127.0.0.1", port: h.port(listener), servername, ca: root.certPem, cert: leaf.certPem, key: leaf.keyPem, checkServerIdentity: () => undefined }, () => s.write("ping"));
      let got = "";
      s.on("data", (d: Buffer) => {
        got += d.toString();
        if (got === "ping") s.end();
      });
      s.on("error", () => resolve(got));
      s.on("close", () => resolve(got));
    });

  it("TCP: sleep's connection reaches the upstream; another identity's is closed", async () => {
    expect(await tcpExchange(sleep)).toBe("ping");
    expect(await tcpExchange(other)).toBe("");
    expect(h.stats.get("tcp.rbac.allowed")).toBe(1);
    expect(h.stats.get("tcp.rbac.denied")).toBe(1);
  });

  it("requested_server_name and authenticated.principal_name on a TLS chain without tls_inspector", async () => {
    expect(await tcpExchange(sleep, "tcp-sni", "localhost")).toBe("ping");
    expect(await tcpExchange(sleep, "tcp-sni", "other.example")).toBe("");
    expect(await tcpExchange(other, "tcp-sni", "localhost")).toBe("");
    expect(h.stats.get("sni.rbac.allowed")).toBe(1);
    expect(h.stats.get("sni.rbac.denied")).toBe(2);
  });
});
