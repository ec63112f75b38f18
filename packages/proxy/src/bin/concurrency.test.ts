// --concurrency 2 with the built binary, both kinds of worker: threads (the
// default, listeners shared with SO_REUSEPORT) and processes (node:cluster,
// WEFT_PROXY_WORKERS=processes). Both workers serve, the admin API (owned by
// the primary) reports the stats summed over the workers plus Envoy's
// per-worker listener counters, and signals drain them all.
import { spawn, type ChildProcess } from "node:child_process";
import { existsSync, mkdtempSync, readFileSync, readdirSync, writeFileSync } from "node:fs";
import { createServer, type Server } from "node:http";
import { createServer as createNetServer, type AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { PROXY_NODE_FLAGS } from "../app/node-flags.js";
import { freePort, freshRequest, PROXY_BUNDLE, statValue, workerKinds, type WorkerKindName } from "../test-util/multi-worker.js";

const BIN = PROXY_BUNDLE;
const dir = mkdtempSync(join(tmpdir(), "weft-concurrency-"));
const get = freshRequest;

function childrenOf(pid: number): number[] {
  const out: number[] = [];
  for (const d of readdirSync("/proc")) {
    if (!/^\d+$/.test(d)) continue;
    try {
      const stat = readFileSync(`/proc/${d}/stat`, "utf8");
      if (Number(stat.slice(stat.lastIndexOf(")") + 2).split(" ")[1]) === pid) out.push(Number(d));
    } catch {
      /* exited */
    }
  }
  return out;
}


type Kind = WorkerKindName;

/** Starts `weft-proxy --concurrency 2` on a bootstrap file with that kind of worker and waits for the admin /ready. */
async function startMultiWorker(conf: string, admin: number, kind: Kind): Promise<{ proxy: ChildProcess; stderr: () => string }> {
  const proxy = spawn(process.execPath, [BIN, "-c", conf, "--concurrency", "2", "-l", "warning", "--drain-time-s", "1"], {
    stdio: ["ignore", "ignore", "pipe"],
    env: { ...process.env, WEFT_PROXY_WORKERS: kind },
  });
  let stderr = "";
  proxy.stderr!.on("data", (d: Buffer) => (stderr += d.toString()));
  const deadline = Date.now() + 25_000;
  for (;;) {
    const ok = await get(admin, "/ready").then(
      (r) => r.status === 200,
      () => false,
    );
    if (ok) break;
    if (Date.now() > deadline || proxy.exitCode !== null) {
      proxy.kill("SIGKILL");
      throw new Error(`proxy not ready: ${stderr}`);
    }
    await new Promise((r) => setTimeout(r, 200));
  }
  return { proxy, stderr: () => stderr };
}

const KINDS = workerKinds();

describe.each(KINDS)("weft-proxy --concurrency 2, worker $kind", ({ kind, skip }) => {
  let upstream: Server;
  let proxy: ChildProcess;
  let port = 0;
  let admin = 0;
  let stderr: () => string = () => "";

  beforeAll(async () => {
    if (skip) return;
    upstream = createServer((_req, res) => res.end(`served by upstream\n`));
    await new Promise<void>((r) => upstream.listen(0, "127.0.0.1", r));
    port = await freePort();
    admin = await freePort();
    const boot = {
      node: { id: "concurrency-test", cluster: "test" },
      admin: { address: { socket_address: { address: "127.0.0.1", port_value: admin } } },
      static_resources: {
        listeners: [
          {
            name: "http",
            address: { socket_address: { address: "127.0.0.1", port_value: port } },
            filter_chains: [
              {
                filters: [
                  {
                    name: "envoy.filters.network.http_connection_manager",
                    typed_config: {
                      "@type": "type.googleapis.com/envoy.extensions.filters.network.http_connection_manager.v3.HttpConnectionManager",
                      stat_prefix: "ingress",
                      route_config: { virtual_hosts: [{ name: "all", domains: ["*"], routes: [{ match: { prefix: "/" }, route: { cluster: "up" } }] }] },
                      http_filters: [{ name: "envoy.filters.http.router", typed_config: { "@type": "type.googleapis.com/envoy.extensions.filters.http.router.v3.Router" } }],
                    },
                  },
                ],
              },
            ],
          },
        ],
        clusters: [
          {
            name: "up",
            type: "STATIC",
            connect_timeout: "1s",
            load_assignment: {
              cluster_name: "up",
              endpoints: [{ lb_endpoints: [{ endpoint: { address: { socket_address: { address: "127.0.0.1", port_value: (upstream.address() as AddressInfo).port } } } }] }],
            },
          },
        ],
      },
    };
    const conf = join(dir, `bootstrap-${kind}.json`);
    writeFileSync(conf, JSON.stringify(boot));
    ({ proxy, stderr } = await startMultiWorker(conf, admin, kind));
  }, 30_000);

  afterAll(async () => {
    if (proxy && proxy.exitCode === null) proxy.kill("SIGKILL");
    if (upstream) await new Promise((r) => upstream.close(r));
  });

  it.skipIf(skip)(`runs two worker ${kind} that both serve, and /stats sums them with per-worker listener counters`, async () => {
    const children = childrenOf(proxy.pid!);
    if (kind === "processes") {
      expect(children).toHaveLength(2);
      // The primary was started without the sidecar's Node flags; its workers still get them.
      expect(PROXY_NODE_FLAGS.length).toBeGreaterThan(0);
      for (const pid of children) {
        const argv = readFileSync(`/proc/${pid}/cmdline`, "utf8").split("\0");
        expect(argv.slice(1, argv.indexOf(BIN))).toEqual(expect.arrayContaining([...PROXY_NODE_FLAGS]));
      }
    } else {
      // One process: the workers are its threads.
      expect(children).toHaveLength(0);
    }
    // node:cluster deals connections round-robin; SO_REUSEPORT hashes them, so
    // enough of them that both workers get some (all 40 on one: p ≈ 2e-12).
    const n = 40;
    for (let i = 0; i < n; i++) {
      const r = await get(port, `/req-${i}`);
      expect(r.status).toBe(200);
      expect(r.body).toBe("served by upstream\n");
    }
    const stats = (await get(admin, "/stats")).body;
    const w0 = statValue(stats, "listener.127.0.0.1_" + port + ".worker_0.downstream_cx_total");
    const w1 = statValue(stats, "listener.127.0.0.1_" + port + ".worker_1.downstream_cx_total");
    expect(w0).toBeGreaterThan(0);
    expect(w1).toBeGreaterThan(0);
    expect(w0 + w1).toBe(n);
    expect(statValue(stats, `listener.127.0.0.1_${port}.downstream_cx_total`)).toBe(n);
    expect(statValue(stats, "http.ingress.downstream_rq_completed")).toBe(n);
    expect(statValue(stats, "cluster.up.upstream_rq_200")).toBe(n);
    expect(statValue(stats, "server.concurrency")).toBe(2);
    expect(statValue(stats, "server.live")).toBe(1);
    // The Prometheus rendering is the same merged store.
    const prom = (await get(admin, "/stats/prometheus")).body;
    expect(prom).toMatch(new RegExp(`^envoy_cluster_upstream_rq\\{[^}]*envoy_response_code="200"[^}]*\\} ${n}$`, "m"));
  });

  it.skipIf(skip)("relays state changes to every worker (/healthcheck/fail → /ready 503)", async () => {
    expect((await get(admin, "/healthcheck/fail", "POST")).status).toBe(200);
    const ready = await get(admin, "/ready");
    expect(ready.status).toBe(503);
    expect(ready.body).toBe("DRAINING\n");
    expect(statValue((await get(admin, "/stats")).body, "server.live")).toBe(0);
    expect((await get(admin, "/healthcheck/ok", "POST")).status).toBe(200);
    expect((await get(admin, "/ready")).status).toBe(200);
  });

  it.skipIf(skip)("SIGTERM drains every worker and the proxy exits 0 leaving no worker behind", async () => {
    const workers = childrenOf(proxy.pid!);
    const code = await new Promise<number | null>((resolve) => {
      proxy.once("exit", (c) => resolve(c));
      proxy.kill("SIGTERM");
    });
    expect(code, stderr()).toBe(0);
    for (const pid of workers) expect(existsSync(`/proc/${pid}`)).toBe(false);
  });
});

describe.each(KINDS)("weft-proxy --concurrency 2, worker $kind, a listener that can't bind", ({ kind, skip }) => {
  it.skipIf(skip)("stops the proxy with exit 1 and says which listener and why", { timeout: 30_000 }, async () => {
    const held = createNetServer();
    await new Promise<void>((r) => held.listen(0, "127.0.0.1", r));
    const port = (held.address() as AddressInfo).port;
    const conf = join(dir, `held-${kind}.json`);
    const listener = { name: "taken", address: { socket_address: { address: "127.0.0.1", port_value: port } }, filter_chains: [{ filters: [{ name: "envoy.filters.network.tcp_proxy", typed_config: { "@type": "type.googleapis.com/envoy.extensions.filters.network.tcp_proxy.v3.TcpProxy", stat_prefix: "t", cluster: "none" } }] }] };
    writeFileSync(conf, JSON.stringify({ node: { id: "held", cluster: "test" }, static_resources: { listeners: [listener] } }));
    const proxy = spawn(process.execPath, [BIN, "-c", conf, "--concurrency", "2", "-l", "warning"], { stdio: ["ignore", "ignore", "pipe"], env: { ...process.env, WEFT_PROXY_WORKERS: kind } });
    let stderr = "";
    proxy.stderr!.on("data", (d: Buffer) => (stderr += d.toString()));
    const code = await new Promise<number | null>((resolve) => proxy.once("exit", resolve));
    await new Promise((r) => held.close(r));
    expect(code).toBe(1);
    expect(stderr).toMatch(new RegExp(`listener taken: cannot bind 127\\.0\\.0\\.1:${port}: .*EADDRINUSE`));
  });
});

describe.skipIf(!existsSync(BIN))("weft-proxy --concurrency 2, worker processes, primary killed", () => {
  it("its workers exit too (none is left serving or holding an xDS stream)", { timeout: 40_000 }, async () => {
    const admin = await freePort();
    const conf = join(dir, "bare.json");
    writeFileSync(conf, JSON.stringify({ node: { id: "killed", cluster: "test" }, admin: { address: { socket_address: { address: "127.0.0.1", port_value: admin } } } }));
    const { proxy } = await startMultiWorker(conf, admin, "processes");
    const workers = childrenOf(proxy.pid!);
    expect(workers).toHaveLength(2);
    proxy.kill("SIGKILL");
    const deadline = Date.now() + 10_000;
    while (workers.some((pid) => existsSync(`/proc/${pid}`)) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 100));
    for (const pid of workers) expect(existsSync(`/proc/${pid}`), `worker ${pid} outlived the primary`).toBe(false);
  });
});
