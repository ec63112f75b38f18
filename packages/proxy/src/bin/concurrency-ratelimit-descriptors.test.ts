// --concurrency 2 with worker threads: a local_ratelimit descriptor's bucket is
// shared by the workers as the default bucket is, so a descriptor allowing 3
// per fill_interval admits 3 from the whole proxy, while requests its route
// actions make no descriptor for draw on the (larger) default bucket.
import { spawn, type ChildProcess } from "node:child_process";
import { mkdtempSync, writeFileSync } from "node:fs";
import { createServer, request, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { freePort, freshRequest, PROXY_BUNDLE, statValue, workerKinds } from "../test-util/multi-worker.js";

const dir = mkdtempSync(join(tmpdir(), "weft-concurrency-descriptors-"));
const on = { default_value: { numerator: 100, denominator: "HUNDRED" } };
const LRL = "type.googleapis.com/envoy.extensions.filters.http.local_ratelimit.v3.LocalRateLimit";

function bootstrap(admin: number, port: number, upstream: number) {
  const perRoute = {
    "@type": LRL,
    stat_prefix: "desc",
    token_bucket: { max_tokens: 100, tokens_per_fill: 100, fill_interval: "60s" },
    filter_enabled: on,
    filter_enforced: on,
    descriptors: [{ entries: [{ key: "plan", value: "free" }], token_bucket: { max_tokens: 3, tokens_per_fill: 3, fill_interval: "60s" } }],
  };
  const route = { match: { prefix: "/" }, route: { cluster: "up", rate_limits: [{ actions: [{ request_headers: { header_name: "x-plan", descriptor_key: "plan" } }] }] }, typed_per_filter_config: { "envoy.filters.http.local_ratelimit": perRoute } };
  const hcm = {
    "@type": "type.googleapis.com/envoy.extensions.filters.network.http_connection_manager.v3.HttpConnectionManager",
    stat_prefix: "ingress",
    route_config: { virtual_hosts: [{ name: "all", domains: ["*"], routes: [route] }] },
    http_filters: [
      { name: "envoy.filters.http.local_ratelimit", typed_config: { "@type": LRL, stat_prefix: "http_local_rate_limiter" } },
      { name: "envoy.filters.http.router", typed_config: { "@type": "type.googleapis.com/envoy.extensions.filters.http.router.v3.Router" } },
    ],
  };
  const endpoint = { address: { socket_address: { address: "127.0.0.1", port_value: upstream } } };
  return {
    node: { id: "concurrency-descriptors-test", cluster: "test" },
    admin: { address: { socket_address: { address: "127.0.0.1", port_value: admin } } },
    static_resources: {
      listeners: [{ name: "http", address: { socket_address: { address: "127.0.0.1", port_value: port } }, filter_chains: [{ filters: [{ name: "envoy.filters.network.http_connection_manager", typed_config: hcm }] }] }],
      clusters: [{ name: "up", type: "STATIC", connect_timeout: "1s", load_assignment: { cluster_name: "up", endpoints: [{ lb_endpoints: [{ endpoint }] }] } }],
    },
  };
}

/** One request with x-plan on a new connection (so each is placed on a worker anew). */
function planned(port: number, path: string, plan: string | undefined): Promise<number> {
  return new Promise((resolve, reject) => {
    const req = request({ host: "127.0.0.1", port, path, agent: false, headers: plan ? { "x-plan": plan } : {} }, (res) => {
      res.resume();
      res.on("end", () => resolve(res.statusCode!));
    });
    req.on("error", reject);
    req.end();
  });
}

const [threads] = workerKinds();

describe("weft-proxy --concurrency 2, worker threads, local_ratelimit descriptors", () => {
  const skip = threads!.skip;
  let upstream: Server | undefined;
  let proxy: ChildProcess | undefined;
  let port = 0;
  let admin = 0;
  let stderr = "";

  beforeAll(async () => {
    if (skip) return;
    upstream = createServer((_req, res) => res.end("ok"));
    await new Promise<void>((r) => upstream!.listen(0, "127.0.0.1", r));
    port = await freePort();
    admin = await freePort();
    const conf = join(dir, "bootstrap.json");
    writeFileSync(conf, JSON.stringify(bootstrap(admin, port, (upstream.address() as AddressInfo).port)));
    proxy = spawn(process.execPath, [PROXY_BUNDLE, "-c", conf, "--concurrency", "2", "-l", "warning", "--drain-time-s", "1"], { stdio: ["ignore", "ignore", "pipe"], env: { ...process.env, WEFT_PROXY_WORKERS: "threads" } });
    proxy.stderr!.on("data", (d: Buffer) => (stderr += d.toString()));
    const deadline = Date.now() + 40_000;
    while (!(await freshRequest(admin, "/ready").then((r) => r.status === 200, () => false))) {
      if (Date.now() > deadline || proxy.exitCode !== null) throw new Error(`proxy not ready: ${stderr}`);
      await new Promise((r) => setTimeout(r, 200));
    }
  }, 45_000);

  afterAll(async () => {
    if (proxy && proxy.exitCode === null) proxy.kill("SIGKILL");
    if (upstream) await new Promise((r) => upstream!.close(r));
  });

  it.skipIf(skip)("admits the descriptor's max_tokens from the whole proxy; requests without the header use the default bucket", async () => {
    const n = 16;
    const seen: Record<number, number> = {};
    for (let i = 0; i < n; i++) {
      const s = await planned(port, `/f${i}`, "free");
      seen[s] = (seen[s] ?? 0) + 1;
    }
    expect(seen).toEqual({ 200: 3, 429: n - 3 });
    const others: number[] = [];
    for (let i = 0; i < 6; i++) others.push(await planned(port, `/o${i}`, undefined));
    expect(others).toEqual([200, 200, 200, 200, 200, 200]);
    const stats = (await freshRequest(admin, "/stats")).body;
    const [w0, w1] = [0, 1].map((w) => statValue(stats, `listener.127.0.0.1_${port}.worker_${w}.downstream_cx_total`));
    // Both workers served (p ≈ 2e-7 that all 22 land on one); with buckets per worker up to 6 would pass.
    expect(w0).toBeGreaterThan(0);
    expect(w1).toBeGreaterThan(0);
    expect(statValue(stats, "desc.http_local_rate_limit.rate_limited")).toBe(n - 3);
  });
});
