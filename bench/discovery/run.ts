// Control-plane benchmark: weft-discovery (its own process) serving N
// simulated sidecars (one process, one HTTP/2 connection and ADS stream each)
// over a mesh of S services × E endpoints. Measures the full initial push,
// convergence after single endpoint changes (file write → every affected
// client has the EDS update) and discovery's RSS.
//
//   node --import tsx bench/discovery/run.ts [--proxies 1000] [--services 500]
//        [--endpoints 4] [--namespaces 1] [--changes 5] [--dist] [--delta]
import { spawn } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createInterface } from "node:readline";
import { fileURLToPath } from "node:url";
import { parseArgs } from "node:util";
import { fromBinary } from "@bufbuild/protobuf";
import { ClusterLoadAssignmentSchema } from "@weft/xds-api/gen/envoy/config/endpoint/v3/endpoint_pb.js";
import { startDeltaLoadClient, startLoadClient, type LoadClient } from "./ads-load-client.js";
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
  let round: { t0: number; times: Map<string, number>; cluster: string; expect: string } | undefined;
  let validated = false;
  const onEds = (c: LoadClient, res: { resources: Array<{ value?: Uint8Array; resource?: { value: Uint8Array } }> }) => {
    if (!round || round.times.has(c.id)) return;
    round.times.set(c.id, performance.now() - round.t0);
    if (!validated) {
      validated = true;
      const cla = res.resources.map((a) => fromBinary(ClusterLoadAssignmentSchema, (a.resource ?? a).value!)).find((x) => x.clusterName === round!.cluster);
      const addrsIn = JSON.stringify(cla?.endpoints ?? []);
      if (!addrsIn.includes(round.expect)) log(`WARNING: first EDS after the change lacks ${round.expect} in ${round.cluster}`);
    }
  };
  const cpu0 = procStatus(pid).cpuS;
  const benchCpu0 = process.cpuUsage();
  const t0 = performance.now();
  const clients: LoadClient[] = [];
  for (let i = 0; i < N; i++) {
    const ns = NS === 1 ? "bench" : `bench-${i % NS}`;
    clients.push((args.delta ? startDeltaLoadClient : startLoadClient)(addrs.grpc, `sidecar~10.200.${Math.floor(i / 250)}.${(i % 250) + 1}~client-${i}.${ns}~${ns}.svc.cluster.local`, ns, onEds));
    if (i % 50 === 49) await sleep(0);
  }
  let lastReport = 0;
  for (;;) {
    const done = clients.filter((c) => c.completeAt !== undefined).length;
    const failed = clients.filter((c) => c.error).length;
    if (performance.now() - lastReport > 1000) {
      lastReport = performance.now();
      log(`initial push: ${done}/${N} proxies have full config (${failed} failed), ${((performance.now() - t0) / 1000).toFixed(1)} s, discovery RSS ${procStatus(pid).rssMb.toFixed(0)} MB`);
    }
    if (done + failed === N) break;
    if (performance.now() - t0 > 600_000) throw new Error("initial push did not finish in 10 minutes");
    await sleep(50);
  }
  const failed = clients.filter((c) => c.error);
  if (failed.length) log(`${failed.length} clients failed, e.g. ${failed[0].error?.message}`);
  if (failed.length === N) throw new Error("every client failed");
  const initialMs = Math.max(...clients.map((c) => c.completeAt ?? 0)) - t0;
  const initialCpu = procStatus(pid).cpuS - cpu0;
  const afterInitial = procStatus(pid);
  const benchCpu = process.cpuUsage(benchCpu0);
  log(`initial push: ${N} proxies in ${(initialMs / 1000).toFixed(2)} s (discovery CPU ${initialCpu.toFixed(1)} s, RSS ${afterInitial.rssMb.toFixed(0)} MB; simulated clients' CPU ${((benchCpu.user + benchCpu.system) / 1e6).toFixed(1)} s)`);

  // --- convergence after one endpoint change --------------------------------
  const all: number[] = [];
  const perRound: Array<{ p50: number; p99: number; max: number; got: number }> = [];
  for (let r = 1; r <= CHANGES; r++) {
    await sleep(2000);
    const k = (r * 37) % S;
    const text = serviceFile(k, E, r);
    const expect = /addresses: \["([^"]+)"\]/.exec(text)![1];
    validated = false;
    round = { t0: performance.now(), times: new Map(), cluster: `outbound|8080||${serviceFqdn(k)}`, expect };
    const c0 = procStatus(pid).cpuS;
    const m0 = await serverConvergence(addrs.monitoring);
    const b0 = process.cpuUsage();
    writeFileSync(join(dir, `svc-${k}.yaml`), text);
    const deadline = performance.now() + 15_000;
    while (round.times.size < N - failed.length && performance.now() < deadline) await sleep(20);
    const times = [...round.times.values()].sort((a, b) => a - b);
    all.push(...times);
    perRound.push({ p50: Math.round(percentile(times, 50)), p99: Math.round(percentile(times, 99)), max: Math.round(times[times.length - 1]), got: times.length });
    const b1 = process.cpuUsage(b0);
    const m1 = await serverConvergence(addrs.monitoring);
    const serverMeanMs = m1.count > m0.count ? ((m1.sum - m0.sum) / (m1.count - m0.count)) * 1000 : NaN;
    log(`change ${r} (svc-${k}): ${times.length}/${N} converged, p50 ${percentile(times, 50).toFixed(0)} ms, p99 ${percentile(times, 99).toFixed(0)} ms, max ${times[times.length - 1]?.toFixed(0)} ms; discovery's own pilot_proxy_convergence_time mean ${serverMeanMs.toFixed(0)} ms (from source event to send) (discovery CPU ${(procStatus(pid).cpuS - c0).toFixed(2)} s, clients ${((b1.user + b1.system) / 1e6).toFixed(2)} s)`);
    round = undefined;
  }
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
    failedClients: failed.length,
  };
  process.stdout.write(JSON.stringify(result, null, 2) + "\n");

  for (const c of clients) c.close();
  proc.kill("SIGTERM");
  await new Promise((r) => proc.once("exit", r));
  rmSync(dir, { recursive: true, force: true });
  process.exit(0);
}

main().catch((error) => {
  log(`failed: ${(error as Error).stack}`);
  process.exit(1);
});
