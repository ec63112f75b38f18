// upstream_connection_options.tcp_keepalive (a DestinationRule's
// connectionPool.tcp.tcpKeepalive): the three parameters on a real socket, read
// back from the kernel, and the keepalive timer `ss` shows on the proxy's
// upstream connections for HTTP/1.1, HTTP/2 and TCP proxying.
import { execFile, spawnSync } from "node:child_process";
import * as http from "node:http";
import * as http2 from "node:http2";
import * as net from "node:net";
import { promisify } from "node:util";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { socketAddon } from "../native/socket-addon.js";
import { httpListener, staticCluster, startRuntime, type Harness } from "../test-util/runtime-harness.js";
import { applyTcpKeepalive } from "./tcp-keepalive.js";

const run = promisify(execFile);
const hasSs = spawnSync("ss", ["-V"]).status === 0;
const hasCurl = spawnSync("curl", ["--version"]).status === 0;
const KEEPALIVE = { tcp_keepalive: { keepalive_time: 77, keepalive_interval: 11, keepalive_probes: 3 } };

const listen = (s: net.Server): Promise<number> => new Promise((r) => s.listen(0, "127.0.0.1", () => r((s.address() as net.AddressInfo).port)));

/** Seconds left on the keepalive timer of the established connection to 127.0.0.1:`port`, as ss reports it. */
async function keepaliveTimerS(port: number): Promise<number | undefined> {
  const { stdout } = await run("ss", ["-tno", "state", "established", `( dport = :${port} )`]);
  const m = /timer:\(keepalive,(?:(\d+)min)?(\d+(?:\.\d+)?)(ms|sec)/.exec(stdout);
  if (!m) return undefined;
  return Number(m[1] ?? 0) * 60 + (m[3] === "ms" ? Number(m[2]) / 1000 : Number(m[2]));
}

describe.skipIf(!socketAddon())("applyTcpKeepalive()", () => {
  it("sets time, interval and probes on a connected socket; unset ones keep the system's", async () => {
    const server = net.createServer(() => {});
    const port = await listen(server);
    const read = (s: net.Socket) => socketAddon()!.setKeepAlive((s as unknown as { _handle: { fd: number } })._handle.fd, 0, 0, 0);
    const connected = (spec: Parameters<typeof applyTcpKeepalive>[1]) =>
      new Promise<net.Socket>((resolve) => {
        const s = net.connect(port, "127.0.0.1");
        applyTcpKeepalive(s, spec);
        s.once("connect", () => setImmediate(() => resolve(s)));
      });
    const plain = await connected(undefined);
    const system = read(plain);
    const all = await connected({ timeS: 77, intervalS: 11, probes: 3 });
    expect(read(all)).toEqual({ idle: 77, interval: 11, probes: 3 });
    const timeOnly = await connected({ timeS: 90, intervalS: 0, probes: 0 });
    expect(read(timeOnly)).toEqual({ idle: 90, interval: system.interval, probes: system.probes });
    for (const s of [plain, all, timeOnly]) s.destroy();
    server.close();
  });
});

describe.skipIf(!hasSs || !hasCurl || !socketAddon())("tcp_keepalive on the proxy's upstream connections (ss)", () => {
  let h: Harness;
  const servers: Array<{ close(): void }> = [];
  const ports: Record<string, number> = {};

  beforeAll(async () => {
    const h1 = http.createServer((_q, r) => r.end("h1"));
    const h2 = http2.createServer((_q, r) => r.end("h2"));
    // An echo server: the proxied connection stays open while the test looks at it.
    const tcp = net.createServer((s) => s.pipe(s));
    servers.push(h1, h2, tcp);
    ports.h1 = await listen(h1);
    ports.h2 = await listen(h2 as unknown as net.Server);
    ports.tcp = await listen(tcp);
    const h2Options = {
      "envoy.extensions.upstreams.http.v3.HttpProtocolOptions": {
        "@type": "type.googleapis.com/envoy.extensions.upstreams.http.v3.HttpProtocolOptions",
        explicit_http_config: { http2_protocol_options: {} },
      },
    };
    const route = (prefix: string, cluster: string) => ({ match: { prefix }, route: { cluster } });
    h = await startRuntime({
      clusters: [
        staticCluster("h1", [ports.h1], { upstream_connection_options: KEEPALIVE }),
        staticCluster("h2", [ports.h2], { upstream_connection_options: KEEPALIVE, typed_extension_protocol_options: h2Options }),
        staticCluster("tcp", [ports.tcp], { upstream_connection_options: KEEPALIVE }),
      ],
      listeners: [
        httpListener("in", [{ name: "all", domains: ["*"], routes: [route("/h2", "h2"), route("/", "h1")] }]),
        {
          name: "tcp",
          address: { socket_address: { address: "127.0.0.1", port_value: 0 } },
          filter_chains: [{ filters: [{ name: "envoy.filters.network.tcp_proxy", typed_config: { "@type": "type.googleapis.com/envoy.extensions.filters.network.tcp_proxy.v3.TcpProxy", stat_prefix: "tcp", cluster: "tcp" } }] }],
        },
      ],
    });
  });
  afterAll(async () => {
    await h?.close();
    for (const s of servers) s.close();
  });

  it.each(["h1", "h2"])("HTTP upstream %s: the pooled connection has the cluster's keepalive", async (name) => {
    const { stdout } = await run("curl", ["-sS", `http://127.0.0.1:${h.port("in")}/${name === "h2" ? "h2" : "x"}`]);
    expect(stdout).toBe(name);
    const left = await keepaliveTimerS(ports[name]!);
    // The timer counts down from keepalive_time (77 s); the system's default is 7200 s.
    expect(left).toBeGreaterThan(60);
    expect(left).toBeLessThanOrEqual(77);
  });

  it("TCP proxy: the upstream connection has the cluster's keepalive", async () => {
    const client = net.connect(h.port("tcp"), "127.0.0.1", () => client.write("ping\n"));
    await new Promise((r) => client.once("data", r));
    const left = await keepaliveTimerS(ports.tcp!);
    client.destroy();
    expect(left).toBeGreaterThan(60);
    expect(left).toBeLessThanOrEqual(77);
  });
});
