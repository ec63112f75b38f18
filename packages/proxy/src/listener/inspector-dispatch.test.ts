// Istio's inbound pattern: http_inspector picks the HTTP chain (application
// protocols http/1.1 and h2c) or the TCP chain; curl, nghttp and raw TCP go to
// the right place. Also: downstream disconnect (DC) and draining.
import * as http from "node:http";
import * as net from "node:net";
import { execFile } from "node:child_process";
import { promisify } from "node:util";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ACCESS_LOG, staticCluster, startRuntime, type Harness } from "../test-util/runtime-harness.js";

const run = promisify(execFile);

describe("http_inspector dispatch", () => {
  let h: Harness;
  let web: http.Server;
  let raw: net.Server;

  beforeAll(async () => {
    web = http.createServer((req, res) => {
      if (req.url === "/hang") return; // never answers: the client will disconnect
      res.end(`web ${req.httpVersion}`);
    });
    raw = net.createServer((s) => s.once("data", () => s.end("raw")));
    await new Promise<void>((r) => web.listen(0, "127.0.0.1", r));
    await new Promise<void>((r) => raw.listen(0, "127.0.0.1", r));
    h = await startRuntime({
      clusters: [staticCluster("web", [(web.address() as net.AddressInfo).port]), staticCluster("raw", [(raw.address() as net.AddressInfo).port])],
      listeners: [
        {
          name: "virtualInbound",
          address: { socket_address: { address: "127.0.0.1", port_value: 0 } },
          listener_filters: [
            { name: "envoy.filters.listener.tls_inspector", typed_config: { "@type": "type.googleapis.com/envoy.extensions.filters.listener.tls_inspector.v3.TlsInspector" } },
            { name: "envoy.filters.listener.http_inspector", typed_config: { "@type": "type.googleapis.com/envoy.extensions.filters.listener.http_inspector.v3.HttpInspector" } },
          ],
          filter_chains: [
            {
              name: "http",
              filter_chain_match: { transport_protocol: "raw_buffer", application_protocols: ["http/1.1", "h2c"] },
              filters: [
                {
                  name: "envoy.filters.network.http_connection_manager",
                  typed_config: {
                    "@type": "type.googleapis.com/envoy.extensions.filters.network.http_connection_manager.v3.HttpConnectionManager",
                    stat_prefix: "inbound_http",
                    route_config: { name: "inbound", virtual_hosts: [{ name: "all", domains: ["*"], routes: [{ name: "r", match: { prefix: "/" }, route: { cluster: "web" } }] }] },
                    http_filters: [{ name: "envoy.filters.http.router", typed_config: { "@type": "type.googleapis.com/envoy.extensions.filters.http.router.v3.Router" } }],
                    access_log: ACCESS_LOG,
                  },
                },
              ],
            },
            {
              name: "tcp",
              filter_chain_match: { transport_protocol: "raw_buffer" },
              filters: [{ name: "tcp", typed_config: { "@type": "type.googleapis.com/envoy.extensions.filters.network.tcp_proxy.v3.TcpProxy", stat_prefix: "inbound_tcp", cluster: "raw" } }],
            },
          ],
        },
      ],
    });
  });
  afterAll(async () => {
    await h?.close();
    web?.close();
    raw?.close();
  });

  it("sends curl to the HTTP chain", async () => {
    const { stdout } = await run("curl", ["-s", "--max-time", "5", `http://127.0.0.1:${h.port("virtualInbound")}/`]);
    expect(stdout).toBe("web 1.1");
  });

  it("sends nghttp (h2c prior knowledge) to the HTTP chain with the HTTP/2 codec", async () => {
    const { stdout } = await run("nghttp", [`http://127.0.0.1:${h.port("virtualInbound")}/`]);
    expect(stdout).toBe("web 1.1");
    expect(h.stats.get("http.inbound_http.downstream_cx_http2_total")).toBe(1);
  });

  it("sends other bytes to the TCP chain", async () => {
    const out = await new Promise<string>((resolve, reject) => {
      const c = net.connect(h.port("virtualInbound"), "127.0.0.1", () => c.write("\x00\x01binary"));
      let s = "";
      c.on("data", (d) => (s += d));
      c.on("end", () => resolve(s));
      c.on("error", reject);
    });
    expect(out).toBe("raw");
    expect(h.stats.get("tcp.inbound_tcp.downstream_cx_total")).toBe(1);
  });

  it("logs DC when the client goes away before the response", async () => {
    const c = net.connect(h.port("virtualInbound"), "127.0.0.1", () => c.write("GET /hang HTTP/1.1\r\nhost: x\r\n\r\n"));
    await new Promise((r) => setTimeout(r, 300));
    c.destroy();
    const log = await h.logs.waitFor((i) => i.responseFlags.includes("DC"));
    expect(log.upstreamCluster).toBe("web");
  });

  it("stops accepting after drainListeners()", async () => {
    const port = h.port("virtualInbound");
    await h.runtime.drainListeners();
    await expect(run("curl", ["-s", "--max-time", "3", `http://127.0.0.1:${port}/`])).rejects.toThrow();
  });
});
