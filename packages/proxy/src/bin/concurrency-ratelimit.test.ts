// --concurrency 2 with the built binary and envoy.filters.http.local_ratelimit:
// worker threads draw from one bucket per config, as Envoy's workers do, so a
// max_tokens of 4 admits 4 requests per fill_interval from the whole proxy
// however the kernel spreads the connections. Worker processes can't share
// memory: each keeps its own buckets, and the proxy says so once.
import { spawn, type ChildProcess } from "node:child_process";
import { mkdtempSync, writeFileSync } from "node:fs";
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { freePort, freshRequest, PROXY_BUNDLE, statValue, workerKinds, type WorkerKindName } from "../test-util/multi-worker.js";

const dir = mkdtempSync(join(tmpdir(), "weft-concurrency-ratelimit-"));
const get = freshRequest;
const UNSHARED = /local_ratelimit: worker processes share no memory/g;

const percent100 = { default_value: { numerator: 100, denominator: "HUNDRED" } };
const localRateLimit = {
  name: "envoy.filters.http.local_ratelimit",
  typed_config: {
    "@type": "type.googleapis.com/envoy.extensions.filters.http.local_ratelimit.v3.LocalRateLimit",
    stat_prefix: "http_local_rate_limiter",
    token_bucket: { max_tokens: 4, tokens_per_fill: 4, fill_interval: "60s" },
    filter_enabled: percent100,
    filter_enforced: percent100,
  },
};

function bootstrap(admin: number, port: number, upstream: number) {
  const hcm = {
    "@type": "type.googleapis.com/envoy.extensions.filters.network.http_connection_manager.v3.HttpConnectionManager",
    stat_prefix: "ingress",
    route_config: { virtual_hosts: [{ name: "all", domains: ["*"], routes: [{ match: { prefix: "/" }, route: { cluster: "up" } }] }] },
    http_filters: [localRateLimit, { name: "envoy.filters.http.router", typed_config: { "@type": "type.googleapis.com/envoy.extensions.filters.http.router.v3.Router" } }],
  };
  const endpoint = { address: { socket_address: { address: "127.0.0.1", port_value: upstream } } };
  return {
    node: { id: "concurrency-ratelimit-test", cluster: "test" },
    admin: { address: { socket_address: { address: "127.0.0.1", port_value: admin } } },
    static_resources: {
      listeners: [{ name: "http", address: { socket_address: { address: "127.0.0.1", port_value: port } }, filter_chains: [{ filters: [{ name: "envoy.filters.network.http_connection_manager", typed_config: hcm }] }] }],
      clusters: [{ name: "up", type: "STATIC", connect_timeout: "1s", load_assignment: { cluster_name: "up", endpoints: [{ lb_endpoints: [{ endpoint }] }] } }],
    },
  };
}

const [threads, processes] = workerKinds();

/** A --concurrency 2 proxy with that kind of worker on the bootstrap above, ready, and an upstream. */
function runningProxy(kind: WorkerKindName, skip: string | undefined) {
  const running = { port: 0, admin: 0, stderr: "" };
  let upstream: Server | undefined;
  let proxy: ChildProcess | undefined;

  beforeAll(async () => {
    if (skip) return;
    upstream = createServer((_req, res) => res.end("ok"));
    await new Promise<void>((r) => upstream!.listen(0, "127.0.0.1", r));
    running.port = await freePort();
    running.admin = await freePort();
    const conf = join(dir, `bootstrap-${kind}.json`);
    writeFileSync(conf, JSON.stringify(bootstrap(running.admin, running.port, (upstream.address() as AddressInfo).port)));
    proxy = spawn(process.execPath, [PROXY_BUNDLE, "-c", conf, "--concurrency", "2", "-l", "warning", "--drain-time-s", "1"], {
      stdio: ["ignore", "ignore", "pipe"],
      env: { ...process.env, WEFT_PROXY_WORKERS: kind },
    });
    proxy.stderr!.on("data", (d: Buffer) => (running.stderr += d.toString()));
    const deadline = Date.now() + 40_000;
    while (!(await get(running.admin, "/ready").then((r) => r.status === 200, () => false))) {
      if (Date.now() > deadline || proxy.exitCode !== null) throw new Error(`proxy not ready: ${running.stderr}`);
      await new Promise((r) => setTimeout(r, 200));
    }
  }, 45_000);

  afterAll(async () => {
    if (proxy && proxy.exitCode === null) proxy.kill("SIGKILL");
    if (upstream) await new Promise((r) => upstream!.close(r));
  });

  return running;
}

/** `n` requests, each on a new connection (so each is placed on a worker anew), counted by status. */
async function statuses(port: number, n: number): Promise<Record<number, number>> {
  const seen: Record<number, number> = {};
  for (let i = 0; i < n; i++) {
    const { status } = await get(port, `/r${i}`);
    seen[status] = (seen[status] ?? 0) + 1;
  }
  return seen;
}

describe("weft-proxy --concurrency 2, worker threads, local_ratelimit", () => {
  const proxy = runningProxy("threads", threads!.skip);

  it.skipIf(threads!.skip)("admits max_tokens per fill_interval from the whole proxy, however the connections are spread", async () => {
    const n = 20;
    expect(await statuses(proxy.port, n)).toEqual({ 200: 4, 429: n - 4 });
    const stats = (await get(proxy.admin, "/stats")).body;
    // SO_REUSEPORT hashes each connection's 4-tuple: all 20 on one worker has p ≈ 2e-6.
    // With both serving, buckets of their own would have admitted more than 4 (they did: 8).
    const [w0, w1] = [0, 1].map((w) => statValue(stats, `listener.127.0.0.1_${proxy.port}.worker_${w}.downstream_cx_total`));
    expect(w0).toBeGreaterThan(0);
    expect(w1).toBeGreaterThan(0);
    expect(w0! + w1!).toBe(n);
    expect(statValue(stats, "http_local_rate_limiter.http_local_rate_limit.ok")).toBe(4);
    expect(statValue(stats, "http_local_rate_limiter.http_local_rate_limit.rate_limited")).toBe(n - 4);
    expect(proxy.stderr).not.toMatch(UNSHARED);
  });
});

describe("weft-proxy --concurrency 2, worker processes, local_ratelimit", () => {
  const proxy = runningProxy("processes", processes!.skip);

  it.skipIf(processes!.skip)("keeps a bucket per worker process, and says so once", async () => {
    const n = 20;
    // node:cluster deals connections round-robin: each worker spends its own 4 tokens.
    expect(await statuses(proxy.port, n)).toEqual({ 200: 8, 429: n - 8 });
    expect(proxy.stderr.match(UNSHARED)).toHaveLength(1);
  });
});
