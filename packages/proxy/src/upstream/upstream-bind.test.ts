// upstream_bind_config.source_address: Istio binds inbound clusters to
// 127.0.0.6 so that capture (ISTIO_OUTPUT `-s 127.0.0.6 -o lo -j RETURN`)
// lets the sidecar's own connection to the app through instead of looping
// it back into 15006. The upstream must see that source address.
import { createServer, type Server } from "node:http";
import { createServer as createTcpServer } from "node:net";
import type { AddressInfo } from "node:net";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { httpListener, startRuntime, staticCluster, type Harness } from "../test-util/runtime-harness.js";

describe("upstream_bind_config.source_address", () => {
  let http: Server;
  const tcpSources: string[] = [];
  const tcp = createTcpServer((s) => {
    tcpSources.push(s.remoteAddress ?? "");
    s.end("ok");
  });
  let h: Harness;

  beforeAll(async () => {
    http = createServer((req, res) => res.end(req.socket.remoteAddress));
    await new Promise<void>((r) => http.listen(0, "127.0.0.1", r));
    await new Promise<void>((r) => tcp.listen(0, "127.0.0.1", r));
    const bind = { upstream_bind_config: { source_address: { address: "127.0.0.6", port_value: 0 } } };
    h = await startRuntime({
      clusters: [staticCluster("app", [(http.address() as AddressInfo).port], bind), staticCluster("tcp-app", [(tcp.address() as AddressInfo).port], bind)],
      listeners: [
        httpListener("in", [{ name: "all", domains: ["*"], routes: [{ match: { prefix: "/" }, route: { cluster: "app" } }] }]),
        {
          name: "tcp-in",
          address: { socket_address: { address: "127.0.0.1", port_value: 0 } },
          filter_chains: [{ filters: [{ name: "envoy.filters.network.tcp_proxy", typed_config: { "@type": "type.googleapis.com/envoy.extensions.filters.network.tcp_proxy.v3.TcpProxy", stat_prefix: "tcp-in", cluster: "tcp-app" } }] }],
        },
      ],
    });
  });
  afterAll(async () => {
    await h?.close();
    http?.close();
    tcp.close();
  });

  it("makes HTTP upstream connections from the configured source address", async () => {
    const res = await fetch(`http://127.0.0.1:${h.port("in")}/`);
    expect(await res.text()).toBe("127.0.0.6");
  });

  it("makes tcp_proxy upstream connections from it too", async () => {
    const { connect } = await import("node:net");
    await new Promise<void>((resolve, reject) => {
      const c = connect(h.port("tcp-in"), "127.0.0.1");
      c.on("data", () => c.end());
      c.on("close", () => resolve());
      c.on("error", reject);
    });
    expect(tcpSources).toEqual(["127.0.0.6"]);
  });
});
