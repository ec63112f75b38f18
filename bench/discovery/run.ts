// Control-plane benchmark: weft-discovery (its own process) serving N
// simulated sidecars (spread over --client-procs processes, one HTTP/2
// connection and ADS stream each)
// over a mesh of S services × E endpoints. Measures the full initial push,
// convergence after single endpoint changes (file write → every affected
// client has the EDS update) and discovery's RSS.
//
//   node --import tsx bench/discovery/run.ts [--proxies 1000] [--services 500]
//        [--endpoints 4] [--namespaces 1] [--changes 5] [--client-procs 2]
//        [--dist] [--delta]
import { fork, spawn } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { loadavg, tmpdir } from "node:os";
import { join } from "node:path";
import { createInterface } from "node:readline";
import { fileURLToPath } from "node:url";
import { parseArgs } from "node:util";
import type { FromWorker, ToWorker } from "./client-worker.js";
import { serviceFile, serviceFqdn, writeMesh } from "./gen-mesh.js";

const { values: args } = parseArgs({
  options: {
    proxies: { type: "string", default: "1000" },
    services: { type: "string", default: "500" },
    endpoints: { type: "string", default: "4" },
    namespaces: { type: "string", default: "1" },
    changes: { type: "string", default: "5" },
    dist: { type: "boolean", default: false },
    delta: { type: "boolean", default: false },
    "client-procs": { type: "string", default: "2" },
  },
});
const N = Number(args.proxies);
const S = Number(args.services);
const E = Number(args.endpoints);
const NS = Number(args.namespaces);
const CHANGES = Number(args.changes);
const ROOT = fileURLToPath(new URL("../..", import.meta.url));
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const log = (msg: string) => process.stderr.write(`[bench] ${msg}\n`);

function procStatus(pid: number): { rssMb: number; hwmMb: number; cpuS: number } {
  const status = readFileSync(`/proc/${pid}/status`, "utf8");
  const kb = (k: string) => Number(new RegExp(`${k}:\\s+(\\d+)`).exec(status)?.[1] ?? 0);
  const stat = readFileSync(`/proc/${pid}/stat`, "utf8").split(") ")[1].split(" ");
  const ticks = Number(stat[11]) + Number(stat[12]); // utime + stime (fields 14, 15)
  return { rssMb: kb("VmRSS") / 1024, hwmMb: kb("VmHWM") / 1024, cpuS: ticks / 100 };
}

async function serverConvergence(monitoring: string): Promise<{ sum: number; count: number }> {
  const text = await (await fetch(`http://${monitoring}/metrics`)).text();
  const num = (name: string) => Number(new RegExp(`^${name} (\\S+)$`, "m").exec(text)?.[1] ?? 0);
  return { sum: num("pilot_proxy_convergence_time_sum"), count: num("pilot_proxy_convergence_time_count") };
}

function percentile(sorted: number[], p: number): number {
  if (!sorted.length) return NaN;
  return sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)];
}

async function main() {
  const dir = mkdtempSync(join(tmpdir(), "weft-bench-"));
  log(`mesh: ${S} services × ${E} endpoints in ${dir}`);
  writeMesh(dir, { services: S, endpoints: E });

  const bin = args.dist ? [join(ROOT, "packages/discovery/dist/bin/weft-discovery.js")] : ["--import", "tsx", join(ROOT, "packages/discovery/src/bin/weft-discovery.ts")];
  const nodeArgs = (process.env.DISCOVERY_NODE_ARGS ?? "").split(" ").filter(Boolean);
  const proc = spawn(process.execPath, [...nodeArgs, ...bin, "--config-dir", dir, "--grpc-addr", "127.0.0.1:0", "--http-addr", "127.0.0.1:0", "--monitoring-addr", "127.0.0.1:0"], { cwd: ROOT, stdio: ["ignore", "ignore", "pipe"] });
  const addrs = await new Promise<{ grpc: string; http: string; monitoring: string }>((resolve, reject) => {
    createInterface({ input: proc.stderr! }).on("line", (line) => {
      try {
        const rec = JSON.parse(line);
        if (rec.msg === "weft-discovery serving xDS") resolve(rec);
        else if (rec.level >= 40) log(`discovery: ${line.slice(0, 300)}`);
      } catch {
        log(`discovery: ${line}`);
      }
    });
    proc.once("exit", (c) => reject(new Error(`weft-discovery exited with ${c}`)));
  });
  const pid = proc.pid!;
  const idle = procStatus(pid);
  log(`discovery pid ${pid} on ${addrs.grpc}; idle RSS ${idle.rssMb.toFixed(0)} MB`);

  // --- initial push -------------------------------------------------------
  // The simulated sidecars live in P worker processes (client-worker.ts), so
  // reading a thousand responses is not one event loop's serial work.
  const P = Math.max(1, Math.min(N, Number(args["client-procs"])));
  const workers = Array.from({ length: P }, (_, w) => {
    const child = fork(join(ROOT, "bench/discovery/client-worker.ts"), [], { execArgv: ["--import", "tsx", ...(process.env.CLIENT_NODE_ARGS ?? "").split(" ").filter(Boolean)], stdio: ["ignore", "inherit", "inherit", "ipc"] });
    const state = { from: Math.floor((w * N) / P), to: Math.floor(((w + 1) * N) / P), done: 0, failed: 0, completeAt: 0, error: undefined as string | undefined };
    const waiters: Array<(m: FromWorker) => boolean> = [];
    const ready = new Promise<void>((resolve) => waiters.push((m) => (m.type === "ready" ? (resolve(), true) : false)));
    child.on("message", (m: FromWorker) => {
      if (m.type === "progress") Object.assign(state, { done: m.done, failed: m.failed, completeAt: m.completeAt, error: m.error });
      for (let i = waiters.length - 1; i >= 0; i--) if (waiters[i](m)) waiters.splice(i, 1);
    });
    const next = <T extends FromWorker["type"]>(type: T, id: number) =>
      new Promise<Extract<FromWorker, { type: T }>>((resolve) => waiters.push((m) => (m.type === type && (m as { id?: number }).id === id ? (resolve(m as Extract<FromWorker, { type: T }>), true) : false)));
    return { child, state, ready, next, send: (m: ToWorker) => child.send(m) };
  });
  await Promise.all(workers.map((w) => w.ready));
  const cpu0 = procStatus(pid).cpuS;
  const t0 = performance.timeOrigin + performance.now();
  for (const w of workers) w.send({ type: "start", addr: addrs.grpc, delta: args.delta!, from: w.state.from, to: w.state.to, namespaces: NS });
  let lastReport = 0;
  for (;;) {
    const done = workers.reduce((n, w) => n + w.state.done, 0);
    const failed = workers.reduce((n, w) => n + w.state.failed, 0);
    const elapsed = performance.timeOrigin + performance.now() - t0;
    if (elapsed - lastReport > 1000) {
      lastReport = elapsed;
      log(`initial push: ${done}/${N} proxies have full config (${failed} failed), ${(elapsed / 1000).toFixed(1)} s, discovery RSS ${procStatus(pid).rssMb.toFixed(0)} MB`);
    }
    if (done + failed === N) break;
    if (elapsed > 600_000) throw new Error("initial push did not finish in 10 minutes");
    await sleep(50);
  }
  const failedCount = workers.reduce((n, w) => n + w.state.failed, 0);
  if (failedCount) log(`${failedCount} clients failed, e.g. ${workers.find((w) => w.state.error)?.state.error}`);
  if (failedCount === N) throw new Error("every client failed");
  const initialMs = Math.max(...workers.map((w) => w.state.completeAt)) - t0;
  const initialCpu = procStatus(pid).cpuS - cpu0;
  const afterInitial = procStatus(pid);
  const clientCpu = () => workers.reduce((s, w) => s + procStatus(w.child.pid!).cpuS, 0);
  log(`initial push: ${N} proxies in ${(initialMs / 1000).toFixed(2)} s (discovery CPU ${initialCpu.toFixed(1)} s, RSS ${afterInitial.rssMb.toFixed(0)} MB; simulated clients' CPU ${clientCpu().toFixed(1)} s in ${P} processes)`);

  // --- convergence after one endpoint change --------------------------------
  const all: number[] = [];
  const perRound: Array<{ p50: number; p99: number; max: number; got: number; discoveryCpuS: number; clientCpuS: number }> = [];
  let bad = 0;
  let lost = 0;
  for (let r = 1; r <= CHANGES; r++) {
    await sleep(2000);
    const k = (r * 37) % S;
    const text = serviceFile(k, E, r);
    const expect = /addresses: \["([^"]+)"\]/.exec(text)![1];
    const cluster = `outbound|8080||${serviceFqdn(k)}`;
    const armed = workers.map((w) => w.next("armed", r));
    for (const w of workers) w.send({ type: "round", id: r, cluster, expect });
    await Promise.all(armed);
    const results = workers.map((w) => w.next("round-done", r));
    const c0 = procStatus(pid).cpuS;
    const m0 = await serverConvergence(addrs.monitoring);
    const rt0 = performance.timeOrigin + performance.now();
    writeFileSync(join(dir, `svc-${k}.yaml`), text);
    const timeout = sleep(15_000).then(() => {
      for (const w of workers) w.send({ type: "collect", id: r });
    });
    void timeout;
    const got = await Promise.all(results);
    const times = got.flatMap((g) => g.times.map((t) => t - rt0)).sort((a, b) => a - b);
    bad += got.reduce((n, g) => n + g.bad, 0);
    lost += got.reduce((n, g) => n + g.lost, 0);
    all.push(...times);
    const discoveryCpuS = procStatus(pid).cpuS - c0;
    const clientCpuS = got.reduce((s, g) => s + g.cpuS, 0);
    perRound.push({ p50: Math.round(percentile(times, 50)), p99: Math.round(percentile(times, 99)), max: Math.round(times[times.length - 1]), got: times.length, discoveryCpuS: +discoveryCpuS.toFixed(2), clientCpuS: +clientCpuS.toFixed(2) });
    const m1 = await serverConvergence(addrs.monitoring);
    const serverMeanMs = m1.count > m0.count ? ((m1.sum - m0.sum) / (m1.count - m0.count)) * 1000 : NaN;
    log(`change ${r} (svc-${k}): ${times.length}/${N} converged, min ${times[0]?.toFixed(0)} ms, p50 ${percentile(times, 50).toFixed(0)} ms, p99 ${percentile(times, 99).toFixed(0)} ms, max ${times[times.length - 1]?.toFixed(0)} ms; discovery's own pilot_proxy_convergence_time mean ${serverMeanMs.toFixed(0)} ms (from source event to send) (discovery CPU ${discoveryCpuS.toFixed(2)} s, clients ${clientCpuS.toFixed(2)} s)`);
  }
  if (bad) log(`WARNING: ${bad} first EDS updates after a change lacked the new address`);
  if (lost) log(`WARNING: ${lost} delta clients hold fewer EDS resources than they subscribed to`);
  all.sort((a, b) => a - b);
  const final = procStatus(pid);
  const metrics = await (await fetch(`http://${addrs.monitoring}/metrics`)).text();
  const connected = /^pilot_xds\{[^}]*\} (\d+)/m.exec(metrics)?.[1];
  const mb = (name: string) => +(Number(new RegExp(`^${name} (\\S+)`, "m").exec(metrics)?.[1] ?? 0) / 1048576).toFixed(0);
  const heapMb = mb("nodejs_heap_size_used_bytes");

  const result = {
    proxies: N,
    mode: args.delta ? "delta" : "sotw",
    services: S,
    endpointsPerService: E,
    namespaces: NS,
    initialPushSeconds: +(initialMs / 1000).toFixed(2),
    initialPushDiscoveryCpuSeconds: +initialCpu.toFixed(1),
    convergenceMs: { p50: +percentile(all, 50).toFixed(0), p99: +percentile(all, 99).toFixed(0), max: +all[all.length - 1]?.toFixed(0), samples: all.length, changes: CHANGES },
    perRound,
    heapMb: { used: heapMb, total: mb("nodejs_heap_size_total_bytes"), external: mb("nodejs_external_memory_bytes") },
    rssMb: { idle: +idle.rssMb.toFixed(0), afterInitialPush: +afterInitial.rssMb.toFixed(0), final: +final.rssMb.toFixed(0), peak: +final.hwmMb.toFixed(0) },
    pilotXdsConnected: Number(connected),
    failedClients: failedCount,
    clientProcesses: P,
    wrongUpdates: bad,
    clientsMissingClusters: lost,
    loadAverage: loadavg().map((x) => +x.toFixed(1)),
  };
  process.stdout.write(JSON.stringify(result, null, 2) + "\n");

  for (const w of workers) w.send({ type: "close" });
  proc.kill("SIGTERM");
  await new Promise((r) => proc.once("exit", r));
  rmSync(dir, { recursive: true, force: true });
  process.exit(0);
}

main().catch((error) => {
  log(`failed: ${(error as Error).stack}`);
  process.exit(1);
});
