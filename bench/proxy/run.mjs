#!/usr/bin/env node
// Data-plane benchmark: one upstream (nginx, 1 worker, 1 KiB over HTTP/1.1
// keep-alive), then for each target — direct, HAProxy (nbthread 1), nginx as a
// proxy (1 worker), weft-proxy (--concurrency 1, static bootstrap: listener →
// HCM → router → cluster) — a throughput run (wrk) and a fixed-rate latency
// run (h2load --h1 --rps: 1000 rps over 16 connections), with the proxy's CPU
// seconds per 1000 requests in each run and its RSS idle and under load.
//
// Pinning (2 cores): the proxy under test runs alone on CPU 0; the load
// generator and the upstream share CPU 1. "direct" is wrk → upstream on CPU 1.
//
//   node bench/proxy/run.mjs [--duration 10] [--warmup 3] [--connections 64]
//        [--targets direct,haproxy,nginx,node-floor,weft,weft-istio,weft-istio-log,weft-nodehttp,weft-undici,weft-noflags,weft-keep-pages,weft-processes]
//        [--weft-concurrency 1] [--rounds 1] [--write]
//
// --rounds N measures every target N times, interleaved, and reports each number's median:
// this VM's req/s and percentiles swing ±30 % between minutes.
//
// weft-proxy runs with the sidecar's Node flags (packages/proxy/package.json
// weft.nodeFlags, as the agent starts it; WEFT_NODE_ARGS="..." replaces them);
// weft-noflags is the same proxy without them. With --weft-concurrency N > 1,
// weft runs N worker threads and weft-processes N worker processes.
//
// --write puts the result table into bench/RESULTS.md between the
// proxy-bench markers. Needs: nginx, haproxy, wrk, h2load, taskset, and the
// built proxy (npx nx run proxy:build).
import { spawn, spawnSync } from "node:child_process";
import { mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from "node:fs";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { parseArgs } from "node:util";

const { values: args } = parseArgs({
  options: {
    duration: { type: "string", default: "10" },
    warmup: { type: "string", default: "3" },
    connections: { type: "string", default: "64" },
    "latency-duration": { type: "string", default: "10" },
    rps: { type: "string", default: "1000" },
    "latency-connections": { type: "string", default: "16" },
    targets: { type: "string", default: "direct,haproxy,nginx,node-floor,weft,weft-istio,weft-istio-log,weft-nodehttp" },
    "weft-concurrency": { type: "string", default: "1" },
    "proxy-cpu": { type: "string", default: "0" },
    "load-cpu": { type: "string", default: "1" },
    rounds: { type: "string", default: "1" },
    write: { type: "boolean", default: false },
  },
});
// Rounds: every target measured again in each round (targets interleaved, so a noisy minute on a
// shared machine hits all of them), the table then shows each number's median over the rounds.
const ROUNDS = Math.max(1, Number(args.rounds));
const DURATION = Number(args.duration);
const WARMUP = Number(args.warmup);
const CONNS = Number(args.connections);
const LAT_DURATION = Number(args["latency-duration"]);
const RPS = Number(args.rps);
const LAT_CONNS = Number(args["latency-connections"]);
const LAT_WARMUP = 1;
const TARGETS = args.targets.split(",");
const WEFT_CONCURRENCY = Number(args["weft-concurrency"]);
const PROXY_CPU = args["proxy-cpu"];
const LOAD_CPU = args["load-cpu"];
const ROOT = fileURLToPath(new URL("../..", import.meta.url));
const WEFT_BIN = process.env.WEFT_BIN ?? join(ROOT, "packages/proxy/dist/bundle/weft-proxy.mjs");
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
const log = (msg) => process.stderr.write(`[bench] ${msg}\n`);

for (const tool of ["nginx", "haproxy", "wrk", "h2load", "taskset"]) {
  if (spawnSync("sh", ["-c", `command -v ${tool}`]).status !== 0) {
    log(`${tool} not found on PATH: install it (apt-get install ${tool === "h2load" ? "nghttp2-client" : tool === "taskset" ? "util-linux" : tool})`);
    process.exit(2);
  }
}

const dir = mkdtempSync(join(tmpdir(), "weft-proxy-bench-"));
const children = new Set();
const cleanup = () => {
  for (const c of children) if (c.exitCode === null) c.kill("SIGKILL");
  rmSync(dir, { recursive: true, force: true });
};
process.on("exit", cleanup);
process.on("SIGINT", () => process.exit(130));

async function freePort() {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.once("error", reject);
    s.listen(0, "127.0.0.1", () => {
      const { port } = s.address();
      s.close(() => resolve(port));
    });
  });
}

/**
 * The environment of every process under test: this shell's, without
 * NODE_EXTRA_CA_CERTS. A development machine or CI image may set it (this
 * sandbox points it at the system bundle) and then every Node process parses
 * ~140 CA certificates at startup: +1.9 MB RSS in weft and in the node floor
 * alike, which no sidecar pays.
 */
function targetEnv(extra) {
  const { NODE_EXTRA_CA_CERTS: _ignored, ...env } = process.env;
  return { ...env, ...extra };
}

/** Starts a long-running process pinned to `cpu`; its stderr is kept for diagnostics. */
function startPinned(name, cpu, cmd, argv, env) {
  const child = spawn("taskset", ["-c", cpu, cmd, ...argv], { stdio: ["ignore", "ignore", "pipe"], env: targetEnv(env) });
  children.add(child);
  let stderr = "";
  child.stderr.on("data", (d) => (stderr = (stderr + d).slice(-4000)));
  child.once("exit", (code, sig) => {
    children.delete(child);
    if (!child.stopping) log(`${name} exited early (${code ?? sig}): ${stderr.trim()}`);
  });
  return {
    pid: child.pid,
    stop: async () => {
      child.stopping = true;
      if (child.exitCode !== null || child.signalCode !== null) return;
      child.kill("SIGTERM");
      const done = new Promise((r) => child.once("exit", r));
      if ((await Promise.race([done, sleep(3000).then(() => "t")])) === "t") {
        child.kill("SIGKILL");
        await done;
      }
    },
    stderr: () => stderr,
  };
}

async function waitHttp(port, path = "/") {
  const deadline = Date.now() + 15_000;
  while (Date.now() < deadline) {
    try {
      const r = await fetch(`http://127.0.0.1:${port}${path}`);
      await r.arrayBuffer();
      if (r.status === 200) return;
    } catch {
      /* not up yet */
    }
    await sleep(100);
  }
  throw new Error(`nothing answered 200 on 127.0.0.1:${port}${path} within 15 s`);
}

/** The process and its descendants (nginx master + worker; weft primary + workers). */
function processTree(pid) {
  const kids = new Map();
  for (const d of readdirSync("/proc")) {
    if (!/^\d+$/.test(d)) continue;
    try {
      const stat = readFileSync(`/proc/${d}/stat`, "utf8");
      const ppid = Number(stat.slice(stat.lastIndexOf(")") + 2).split(" ")[1]);
      if (!kids.has(ppid)) kids.set(ppid, []);
      kids.get(ppid).push(Number(d));
    } catch {
      /* gone */
    }
  }
  const out = [];
  const walk = (p) => {
    out.push(p);
    for (const k of kids.get(p) ?? []) walk(k);
  };
  walk(pid);
  return out;
}

/**
 * CPU seconds (utime+stime), RSS and its anonymous part (MiB) summed over the process tree. RSS also counts the
 * file-backed pages a process has mapped (its executable's code above all, shared with every process running the
 * same file); the anonymous part is the memory that is that process's alone.
 */
function usage(pid) {
  let ticks = 0;
  let rssKb = 0;
  let anonKb = 0;
  for (const p of processTree(pid)) {
    try {
      const raw = readFileSync(`/proc/${p}/stat`, "utf8");
      const stat = raw.slice(raw.lastIndexOf(")") + 2).split(" ");
      ticks += Number(stat[11]) + Number(stat[12]); // fields 14, 15: utime, stime
      const status = readFileSync(`/proc/${p}/status`, "utf8");
      rssKb += Number(/VmRSS:\s+(\d+)/.exec(status)?.[1] ?? 0);
      anonKb += Number(/RssAnon:\s+(\d+)/.exec(status)?.[1] ?? 0);
    } catch {
      /* exited */
    }
  }
  return { cpuS: ticks / 100, rssMb: rssKb / 1024, anonMb: anonKb / 1024 };
}

/** Samples the tree's RSS every 200 ms while `fn` runs; returns fn's result and the peak. */
async function withRssPeak(pid, fn) {
  let peak = 0;
  const t = pid ? setInterval(() => (peak = Math.max(peak, usage(pid).rssMb)), 200) : undefined;
  try {
    const result = await fn();
    if (pid) peak = Math.max(peak, usage(pid).rssMb);
    return { result, peak };
  } finally {
    clearInterval(t);
  }
}

function runTool(cmd, argv) {
  return new Promise((resolve, reject) => {
    const child = spawn("taskset", ["-c", LOAD_CPU, cmd, ...argv], { stdio: ["ignore", "pipe", "pipe"] });
    children.add(child);
    let out = "";
    let err = "";
    child.stdout.on("data", (d) => (out += d));
    child.stderr.on("data", (d) => (err += d));
    child.once("exit", (code) => {
      children.delete(child);
      if (code === 0) resolve(out);
      else reject(new Error(`${cmd} ${argv.join(" ")} exited ${code}: ${err || out}`));
    });
  });
}

async function wrk(port, seconds) {
  const out = await runTool("wrk", ["-t1", `-c${CONNS}`, `-d${seconds}s`, "--latency", `http://127.0.0.1:${port}/`]);
  const rps = Number(/Requests\/sec:\s+([\d.]+)/.exec(out)?.[1]);
  const total = Number(/(\d+) requests in/.exec(out)?.[1]);
  const errors = /Non-2xx or 3xx responses: (\d+)/.exec(out)?.[1];
  const sockErr = /Socket errors: (.*)/.exec(out)?.[1];
  if (errors || sockErr) log(`  wrk reported errors: ${errors ?? 0} non-2xx; socket errors: ${sockErr ?? "none"}`);
  return { rps, total, nonOk: Number(errors ?? 0) };
}

/** Fixed-rate run: h2load paces each of LAT_CONNS clients at RPS/LAT_CONNS requests per second. */
async function paced(port) {
  const logFile = join(dir, `h2load-${port}.log`);
  const perClient = RPS / LAT_CONNS;
  const out = await runTool("h2load", [
    "--h1",
    "-c", String(LAT_CONNS),
    "-t", "1",
    "--rps", String(perClient),
    "-D", String(LAT_DURATION),
    "--warm-up-time", String(LAT_WARMUP),
    "--log-file", logFile,
    `http://127.0.0.1:${port}/`,
  ]);
  // Log lines: start time (µs since epoch), status, request duration (µs).
  const lines = readFileSync(logFile, "utf8").trim().split("\n");
  const durations = [];
  let bad = 0;
  for (const l of lines) {
    const [, status, us] = l.split("\t");
    if (status !== "200") bad++;
    durations.push(Number(us) / 1000);
  }
  durations.sort((a, b) => a - b);
  const pct = (p) => durations[Math.min(durations.length - 1, Math.ceil((p / 100) * durations.length) - 1)];
  const achieved = Number(/finished in [\d.]+\w+, ([\d.]+) req\/s/.exec(out)?.[1] ?? NaN);
  return { n: durations.length, bad, achieved, p50: pct(50), p90: pct(90), p99: pct(99), max: durations[durations.length - 1] };
}

const BODY = "x".repeat(1023) + "\n";

async function startUpstream() {
  const port = await freePort();
  const conf = join(dir, "upstream.conf");
  writeFileSync(
    conf,
    `daemon off; master_process off; worker_processes 1; error_log stderr warn; pid ${dir}/upstream.pid;
events { worker_connections 4096; }
http { access_log off; keepalive_requests 10000000; keepalive_timeout 300s;
  server { listen 127.0.0.1:${port}; location / { default_type text/plain; return 200 "${BODY.slice(0, -1)}\\n"; } } }
`,
  );
  const p = startPinned("upstream nginx", LOAD_CPU, "nginx", ["-c", conf, "-p", dir, "-e", "stderr"]);
  await waitHttp(port);
  return { port, ...p };
}

async function startHaproxy(upstream) {
  const port = await freePort();
  const conf = join(dir, "haproxy.cfg");
  writeFileSync(
    conf,
    `global
  nbthread 1
  maxconn 4096
defaults
  mode http
  timeout connect 5s
  timeout client 60s
  timeout server 60s
  option http-keep-alive
  http-reuse always
frontend fe
  bind 127.0.0.1:${port}
  default_backend be
backend be
  server up 127.0.0.1:${upstream}
`,
  );
  const p = startPinned("haproxy", PROXY_CPU, "haproxy", ["-f", conf, "-db"]);
  await waitHttp(port);
  return { port, ...p };
}

async function startNginxProxy(upstream) {
  const port = await freePort();
  const conf = join(dir, "nginx-proxy.conf");
  writeFileSync(
    conf,
    `daemon off; master_process off; worker_processes 1; error_log stderr warn; pid ${dir}/proxy.pid;
events { worker_connections 4096; }
http { access_log off; keepalive_requests 10000000; keepalive_timeout 300s;
  upstream up { server 127.0.0.1:${upstream}; keepalive 128; keepalive_requests 10000000; }
  server { listen 127.0.0.1:${port};
    location / { proxy_pass http://up; proxy_http_version 1.1; proxy_set_header Connection ""; } } }
`,
  );
  const p = startPinned("nginx proxy", PROXY_CPU, "nginx", ["-c", conf, "-p", dir, "-e", "stderr"]);
  await waitHttp(port);
  return { port, ...p };
}

/**
 * weft-proxy runs as the agent starts a sidecar: `node <flags> dist/bundle/weft-proxy.mjs` (the bundle `bin` names), the flags being
 * @weft/proxy's package.json `weft.nodeFlags` (PROXY_NODE_FLAGS). WEFT_NODE_ARGS replaces them;
 * the `weft-noflags` target runs without any, for paired CPU/RSS comparisons in one run.
 */
function weftNodeFlags(withFlags) {
  if (!withFlags) return [];
  if (process.env.WEFT_NODE_ARGS !== undefined) return process.env.WEFT_NODE_ARGS.split(" ").filter(Boolean);
  return JSON.parse(readFileSync(join(ROOT, "packages/proxy/package.json"), "utf8")).weft?.nodeFlags ?? [];
}

async function startNodeFloor(upstream) {
  const port = await freePort();
  const p = startPinned("node floor proxy", PROXY_CPU, process.execPath, [join(ROOT, "bench/proxy/node-floor-proxy.mjs"), String(port), String(upstream)]);
  await waitHttp(port);
  return { port, ...p };
}

/**
 * The connection manager of a real Istio sidecar's outbound listener (bench/proxy/istio-sidecar-outbound-hcm.json:
 * outbound_0.0.0.0_8000 from shared/testdata/istio/sidecar-configdump-authz.yaml — metadata exchange, grpc_stats,
 * istio.alpn, fault, cors, istio.stats, router; tracing, normalize_path, the UUID request id — with its RDS swapped for
 * an inline route carrying Istio's default route action from http-config-dump.json: timeout 0s and the retry policy
 * every sidecar route gets, pointed at the bench upstream). weft-proxy does not implement Istio's telemetry filters
 * (metadata exchange, grpc_stats, istio.stats) and skips them, saying so at start: this target measures the rest.
 */
function istioSidecarHcm() {
  return JSON.parse(readFileSync(join(ROOT, "bench/proxy/istio-sidecar-outbound-hcm.json"), "utf8"));
}

/**
 * The same connection manager with the access log Istio turns on with meshConfig.accessLogFile: its default text
 * format, as discovery generates it (packages/discovery/src/generators/envoy-json.ts), to /dev/null.
 */
function istioSidecarHcmWithAccessLog() {
  const format =
    '[%START_TIME%] "%REQ(:METHOD)% %REQ(X-ENVOY-ORIGINAL-PATH?:PATH)% %PROTOCOL%" %RESPONSE_CODE% %RESPONSE_FLAGS% %RESPONSE_CODE_DETAILS% %CONNECTION_TERMINATION_DETAILS% "%UPSTREAM_TRANSPORT_FAILURE_REASON%" %BYTES_RECEIVED% %BYTES_SENT% %DURATION% %RESP(X-ENVOY-UPSTREAM-SERVICE-TIME)% "%REQ(X-FORWARDED-FOR)%" "%REQ(USER-AGENT)%" "%REQ(X-REQUEST-ID)%" "%REQ(:AUTHORITY)%" "%UPSTREAM_HOST%" %UPSTREAM_CLUSTER% %UPSTREAM_LOCAL_ADDRESS% %DOWNSTREAM_LOCAL_ADDRESS% %DOWNSTREAM_REMOTE_ADDRESS% %REQUESTED_SERVER_NAME% %ROUTE_NAME%\n';
  const accessLog = {
    name: "envoy.access_loggers.file",
    typed_config: {
      "@type": "type.googleapis.com/envoy.extensions.access_loggers.file.v3.FileAccessLog",
      path: "/dev/null",
      log_format: { text_format_source: { inline_string: format } },
    },
  };
  return { ...istioSidecarHcm(), access_log: [accessLog] };
}

const minimalHcm = {
  "@type": "type.googleapis.com/envoy.extensions.filters.network.http_connection_manager.v3.HttpConnectionManager",
  stat_prefix: "bench",
  route_config: {
    name: "local",
    virtual_hosts: [{ name: "all", domains: ["*"], routes: [{ match: { prefix: "/" }, route: { cluster: "upstream" } }] }],
  },
  http_filters: [{ name: "envoy.filters.http.router", typed_config: { "@type": "type.googleapis.com/envoy.extensions.filters.http.router.v3.Router" } }],
};

async function startWeft(upstream, env = {}, nodeFlags = weftNodeFlags(true), hcm = minimalHcm) {
  const port = await freePort();
  const admin = await freePort();
  const boot = {
    node: { id: "bench~127.0.0.1~bench.default~default.svc.cluster.local", cluster: "bench" },
    admin: { address: { socket_address: { address: "127.0.0.1", port_value: admin } } },
    static_resources: {
      listeners: [
        {
          name: "bench",
          address: { socket_address: { address: "127.0.0.1", port_value: port } },
          filter_chains: [
            {
              filters: [{ name: "envoy.filters.network.http_connection_manager", typed_config: hcm }],
            },
          ],
        },
      ],
      clusters: [
        {
          name: "upstream",
          type: "STATIC",
          connect_timeout: "1s",
          load_assignment: {
            cluster_name: "upstream",
            endpoints: [{ lb_endpoints: [{ endpoint: { address: { socket_address: { address: "127.0.0.1", port_value: upstream } } } }] }],
          },
        },
      ],
    },
  };
  const conf = join(dir, "weft.json");
  writeFileSync(conf, JSON.stringify(boot));
  const p = startPinned("weft-proxy", PROXY_CPU, process.execPath, [...nodeFlags, WEFT_BIN, "-c", conf, "--concurrency", String(WEFT_CONCURRENCY), "-l", "warning"], env);
  await waitHttp(port);
  return { port, admin, ...p };
}

async function measure(name, target) {
  if (target.pid) log(`${name}: RSS ${usage(target.pid).rssMb.toFixed(1)} MB before any request`);
  log(`${name}: warm-up ${WARMUP}s`);
  await wrk(target.port, WARMUP);
  await sleep(500);
  const idleUsage = target.pid ? usage(target.pid) : { rssMb: NaN, anonMb: NaN };
  const idle = idleUsage.rssMb;
  const idleAnon = idleUsage.anonMb;
  log(`${name}: throughput ${DURATION}s (wrk -t1 -c${CONNS})`);
  const before = target.pid ? usage(target.pid).cpuS : 0;
  const { result: tp, peak: tpPeak } = await withRssPeak(target.pid, () => wrk(target.port, DURATION));
  const after = target.pid ? usage(target.pid).cpuS : 0;
  const cpuPer1000 = target.pid ? ((after - before) / tp.total) * 1000 : NaN;
  log(`${name}: ${tp.rps.toFixed(0)} req/s, ${(cpuPer1000 * 1000).toFixed(1)} ms CPU per 1000 requests`);
  log(`${name}: latency ${LAT_DURATION}s at ${RPS} rps over ${LAT_CONNS} connections (h2load --h1 --rps)`);
  // CPU from the end of h2load's warm-up (which absorbs the JIT's one-off reaction to a new
  // client's requests) to the end; h2load paces the rate exactly, so that is RPS × duration requests.
  let latBefore = NaN;
  const warmedUp = setTimeout(() => (latBefore = target.pid ? usage(target.pid).cpuS : NaN), LAT_WARMUP * 1000);
  const { result: lat, peak: latPeak } = await withRssPeak(target.pid, () => paced(target.port));
  clearTimeout(warmedUp);
  const latCpuPerReq = target.pid ? (usage(target.pid).cpuS - latBefore) / (RPS * LAT_DURATION) : NaN;
  log(`${name}: p50 ${lat.p50.toFixed(2)} ms, p90 ${lat.p90.toFixed(2)} ms, p99 ${lat.p99.toFixed(2)} ms (${lat.achieved} req/s achieved, ${lat.bad} non-200), ${(latCpuPerReq * 1e6).toFixed(0)} µs CPU per request`);
  return { name, rps: tp.rps, nonOk: tp.nonOk, cpuPer1000, latCpuPerReq, idle, idleAnon, loadRss: target.pid ? Math.max(tpPeak, latPeak) : NaN, ...lat };
}

const median = (xs) => {
  const v = xs.filter(Number.isFinite).sort((a, b) => a - b);
  if (v.length === 0) return NaN;
  const m = v.length >> 1;
  return v.length % 2 ? v[m] : (v[m - 1] + v[m]) / 2;
};

/** One row from a target's rounds: each number's median (RSS under load: the highest seen). */
function medianResult(rounds) {
  const out = { ...rounds[0] };
  for (const k of ["rps", "cpuPer1000", "latCpuPerReq", "idle", "idleAnon", "p50", "p90", "p99"]) out[k] = median(rounds.map((r) => r[k]));
  out.loadRss = Math.max(...rounds.map((r) => r.loadRss));
  return out;
}

const fmt = (n, d = 0) => (Number.isFinite(n) ? n.toFixed(d) : "–");

async function main() {
  const startedAt = Date.now();
  const load = readFileSync("/proc/loadavg", "utf8").split(" ").slice(0, 3).join(" ");
  log(`load average before: ${load}; proxies on CPU ${PROXY_CPU}, wrk/h2load/upstream on CPU ${LOAD_CPU}`);
  const upstream = await startUpstream();
  log(`upstream nginx on :${upstream.port} (1 KiB, keep-alive)`);
  const results = [];
  const starters = {
    direct: async () => ({ port: upstream.port, pid: 0, stop: async () => {} }),
    haproxy: startHaproxy,
    nginx: startNginxProxy,
    weft: startWeft,
    // --concurrency N > 1 with node:cluster worker processes instead of worker threads (what threads save).
    "weft-processes": (up) => startWeft(up, { WEFT_PROXY_WORKERS: "processes" }),
    // The same proxy with undici as the HTTP/1.1 upstream pool (what the lean pool replaced).
    "weft-undici": (up) => startWeft(up, { WEFT_PROXY_UNDICI_HTTP1: "1" }),
    // The same proxy without the sidecar's Node flags (what they cost or save, paired in one run).
    // (neither the launch flags nor those the proxy sets itself: WEFT_PROXY_RUNTIME_V8_FLAGS="").
    "weft-noflags": (up) => startWeft(up, { WEFT_PROXY_RUNTIME_V8_FLAGS: "" }, weftNodeFlags(false)),
    // The same proxy keeping Node's startup-only pages resident (what releasing them saves, paired in one run).
    "weft-keep-pages": (up) => startWeft(up, { WEFT_KEEP_STARTUP_PAGES: "1" }),
    // A real sidecar's outbound HTTP filter chain and route (Istio's filters, retry policy, tracing, request ids).
    "weft-istio": (up) => startWeft(up, {}, weftNodeFlags(true), istioSidecarHcm()),
    "weft-istio-log": (up) => startWeft(up, {}, weftNodeFlags(true), istioSidecarHcmWithAccessLog()),
    // The least a Node process can do to relay these requests (node-floor-proxy.mjs): Node's own ceiling here.
    "node-floor": startNodeFloor,
    // weft-proxy with node:http for every HTTP/1.1 request (what the lean codec replaced).
    "weft-nodehttp": (up) => startWeft(up, { WEFT_PROXY_NODE_HTTP1: "1" }),
  };
  for (const t of TARGETS) if (!starters[t]) throw new Error(`unknown target '${t}' (${Object.keys(starters).join(", ")})`);
  const workers = WEFT_CONCURRENCY > 1 ? ", worker threads" : "";
  const names = { weft: `weft (concurrency ${WEFT_CONCURRENCY}${workers})`, "weft-processes": `weft (concurrency ${WEFT_CONCURRENCY}, worker processes)`, "weft-undici": "weft, undici upstream pool", "weft-noflags": "weft, no node flags", "weft-keep-pages": "weft, startup pages kept resident", "node-floor": "node floor (bare relay)", "weft-nodehttp": "weft, node:http downstream", "weft-istio": "weft, Istio sidecar filters + retry policy", "weft-istio-log": "weft, the same + Istio's access log" };
  const byTarget = new Map(TARGETS.map((t) => [t, []]));
  for (let round = 1; round <= ROUNDS; round++) {
    if (ROUNDS > 1) log(`round ${round} of ${ROUNDS}`);
    for (const t of TARGETS) {
      const target = await starters[t](upstream.port);
      try {
        byTarget.get(t).push(await measure(names[t] ?? t, target));
      } finally {
        await target.stop();
      }
    }
  }
  for (const t of TARGETS) results.push(medianResult(byTarget.get(t)));
  await upstream.stop();
  const loadAfter = readFileSync("/proc/loadavg", "utf8").split(" ").slice(0, 3).join(" ");

  const ha = results.find((r) => r.name === "haproxy");
  const rows = [
    "| target | req/s | × HAProxy | p50 ms | p90 ms | p99 ms | p99 × HAProxy | CPU ms / 1000 req | CPU µs / req at 1000 rps | RSS idle MB | of it anonymous MB | RSS load MB |",
    "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|",
    ...results.map(
      (r) =>
        `| ${r.name} | ${fmt(r.rps)} | ${ha ? fmt(r.rps / ha.rps, 2) : "–"} | ${fmt(r.p50, 2)} | ${fmt(r.p90, 2)} | ${fmt(r.p99, 2)} | ${ha ? fmt(r.p99 / ha.p99, 2) : "–"} | ${fmt(r.cpuPer1000 * 1000, 1)} | ${fmt(r.latCpuPerReq * 1e6)} | ${fmt(r.idle, 1)} | ${fmt(r.idleAnon, 1)} | ${fmt(r.loadRss, 1)} |`,
    ),
  ];
  const cmd = `node bench/proxy/run.mjs ${process.argv.slice(2).join(" ")}`.trim();
  const rounds = ROUNDS > 1 ? ` Medians over ${ROUNDS} interleaved rounds (RSS under load: the highest).` : "";
  const text = [
    `Run ${new Date(startedAt).toISOString()} (${((Date.now() - startedAt) / 1000).toFixed(0)} s), \`${cmd}\`, load average before ${load}, after ${loadAfter}.${rounds}`,
    "",
    ...rows,
    "",
  ].join("\n");
  process.stdout.write(text + "\n");
  if (args.write) {
    const file = join(ROOT, "bench/RESULTS.md");
    const md = readFileSync(file, "utf8");
    const begin = "<!-- proxy-bench:begin -->";
    const end = "<!-- proxy-bench:end -->";
    const i = md.indexOf(begin);
    const j = md.indexOf(end);
    if (i < 0 || j < i) throw new Error(`bench/RESULTS.md has no ${begin} … ${end} block to fill`);
    writeFileSync(file, md.slice(0, i + begin.length) + "\n" + text + md.slice(j));
    log("wrote bench/RESULTS.md");
  }
}

main().catch((err) => {
  log(err.stack ?? String(err));
  process.exitCode = 1;
});
