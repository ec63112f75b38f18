// tcp_proxy under the cluster's connection circuit breaker and outlier
// detection: past max_connections a new connection is closed with UO and
// upstream_cx_overflow; connect failures feed consecutive local-origin ejection.
import * as net from "node:net";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ACCESS_LOG, staticCluster, startRuntime, type Harness } from "../test-util/runtime-harness.js";
import { closedPort, sleep } from "../test-util/recording-backend.js";

const tcpListener = (name: string, cluster: string) => ({
  name,
  address: { socket_address: { address: "127.0.0.1", port_value: 0 } },
  filter_chains: [{ filters: [{ name: "tcp", typed_config: { "@type": "type.googleapis.com/envoy.extensions.filters.network.tcp_proxy.v3.TcpProxy", stat_prefix: name, cluster, access_log: ACCESS_LOG } }] }],
});

/** Connects, sends a line, resolves with what came back before the close. */
function exchange(port: number, line: string, holdMs = 0): Promise<string> {
  return new Promise((resolve) => {
    const c = net.connect(port, "127.0.0.1");
    let got = "";
    c.on("data", (d) => {
      got += d.toString();
      if (holdMs === 0) c.end();
      else setTimeout(() => c.end(), holdMs);
    });
    c.on("error", () => {});
    c.on("close", () => resolve(got));
    c.write(line);
  });
}

describe("tcp_proxy circuit breaking and outlier detection", () => {
  let h: Harness;
  let echo: net.Server;
  beforeAll(async () => {
    echo = net.createServer((c) => c.on("data", (d) => c.write(`echo:${d.toString()}`)));
    await new Promise<void>((r) => echo.listen(0, "127.0.0.1", r));
    const port = (echo.address() as net.AddressInfo).port;
    const dead = await closedPort();
    h = await startRuntime({
      clusters: [
        staticCluster("one", [port], { circuit_breakers: { thresholds: [{ max_connections: 1 }] } }),
        staticCluster("mixed", [dead, port], {
          lb_policy: "ROUND_ROBIN",
          outlier_detection: { split_external_local_origin_errors: true, consecutive_local_origin_failure: 3, interval: "10s", base_ejection_time: "30s", max_ejection_percent: 50 },
        }),
      ],
      listeners: [tcpListener("t1", "one"), tcpListener("t2", "mixed")],
    });
  });
  afterAll(async () => {
    await h?.close();
    echo?.close();
  });

  it("closes a connection past max_connections with UO (upstream_cx_overflow)", async () => {
    const first = exchange(h.port("t1"), "a", 600);
    await sleep(200);
    expect(await exchange(h.port("t1"), "b")).toBe("");
    expect(await first).toBe("echo:a");
    expect(h.stats.get("cluster.one.upstream_cx_overflow")).toBe(1);
    expect((await h.logs.waitFor((i) => i.responseFlags.includes("UO"))).upstreamCluster).toBe("one");
    // The slot is free again once the first upstream connection closed.
    for (let i = 0; i < 100 && h.stats.get("cluster.one.circuit_breakers.default.cx_open") !== 0; i++) await sleep(20);
    expect(await exchange(h.port("t1"), "c")).toBe("echo:c");
  });

  it("ejects the endpoint that refuses connections after consecutive_local_origin_failure", async () => {
    for (let i = 0; i < 12 && !h.stats.get("cluster.mixed.outlier_detection.ejections_active"); i++) await exchange(h.port("t2"), `x${i}`);
    expect(h.stats.get("cluster.mixed.outlier_detection.ejections_enforced_consecutive_local_origin_failure")).toBe(1);
    for (let i = 0; i < 4; i++) expect(await exchange(h.port("t2"), `y${i}`)).toBe(`echo:y${i}`);
  });
});
