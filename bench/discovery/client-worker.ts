// One process of simulated sidecars for bench/discovery/run.ts. A thousand
// proxies are a thousand processes in a real mesh; reading all their
// responses in one Node process made the bench's own event loop part of the
// measured latency, so run.ts spreads the clients over a few of these.
//
// Protocol (process IPC, JSON):
//   worker → parent  {type:"ready"}   (modules loaded: the initial push is timed from here)
//   parent → worker  {type:"start", addr, delta, from, to, namespaces}
//   worker → parent  {type:"progress", done, failed, completeAt, error?}   (every 250 ms until all done)
//   parent → worker  {type:"round", id, cluster, expect}
//   worker → parent  {type:"armed", id}
//   worker → parent  {type:"round-done", id, times, bad, lost, cpuS}      (when all its clients got the update, or on "collect")
//   parent → worker  {type:"collect", id} | {type:"close"}
// Times are absolute (performance.timeOrigin + performance.now()) so the
// parent can compare them across processes.
import { fromBinary } from "@bufbuild/protobuf";
import { ClusterLoadAssignmentSchema } from "@weft/xds-api/gen/envoy/config/endpoint/v3/endpoint_pb.js";
import { startDeltaLoadClient, startLoadClient, type LoadClient } from "./ads-load-client.js";

export type ToWorker =
  | { type: "start"; addr: string; delta: boolean; from: number; to: number; namespaces: number }
  | { type: "round"; id: number; cluster: string; expect: string }
  | { type: "collect"; id: number }
  | { type: "close" };

export type FromWorker =
  | { type: "ready" }
  | { type: "progress"; done: number; failed: number; completeAt: number; error?: string }
  | { type: "armed"; id: number }
  | { type: "round-done"; id: number; times: number[]; bad: number; lost: number; cpuS: number };

const now = () => performance.timeOrigin + performance.now();
const send = (m: FromWorker) => process.send!(m);
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

let clients: LoadClient[] = [];
let round: { id: number; cluster: string; expect: string; times: Map<string, number>; bad: number; cpu: NodeJS.CpuUsage; reported: boolean } | undefined;

type EdsResponse = { resources: Array<{ value?: Uint8Array; resource?: { value: Uint8Array } }> };

function onEds(c: LoadClient, res: EdsResponse): void {
  const r = round;
  if (!r || r.times.has(c.id)) return;
  r.times.set(c.id, now());
  // Check the content of every client's first update, not just one: the
  // changed cluster must carry the new address.
  const cla = res.resources.map((a) => fromBinary(ClusterLoadAssignmentSchema, (a.resource ?? a).value!)).find((x) => x.clusterName === r.cluster);
  if (!cla || !JSON.stringify(cla.endpoints).includes(r.expect)) r.bad++;
  if (r.times.size === clients.filter((x) => !x.error).length) finishRound();
}

function finishRound(): void {
  const r = round;
  if (!r || r.reported) return;
  r.reported = true;
  const cpu = process.cpuUsage(r.cpu);
  // Delta clients track what they hold: an EDS push must not have made anyone drop a cluster.
  const lost = clients.filter((c) => c.heldEds !== undefined && c.heldEds() < c.subscribedEds!()).length;
  send({ type: "round-done", id: r.id, times: [...r.times.values()], bad: r.bad, lost, cpuS: (cpu.user + cpu.system) / 1e6 });
}

async function start(m: Extract<ToWorker, { type: "start" }>): Promise<void> {
  for (let i = m.from; i < m.to; i++) {
    const ns = m.namespaces === 1 ? "bench" : `bench-${i % m.namespaces}`;
    const id = `sidecar~10.200.${Math.floor(i / 250)}.${(i % 250) + 1}~client-${i}.${ns}~${ns}.svc.cluster.local`;
    clients.push((m.delta ? startDeltaLoadClient : startLoadClient)(m.addr, id, ns, onEds));
    if (i % 50 === 49) await sleep(0);
  }
  for (;;) {
    const done = clients.filter((c) => c.completeAt !== undefined);
    const failed = clients.filter((c) => c.error);
    const completeAt = done.length ? performance.timeOrigin + Math.max(...done.map((c) => c.completeAt!)) : 0;
    send({ type: "progress", done: done.length, failed: failed.length, completeAt, error: failed[0]?.error?.message });
    if (done.length + failed.length === clients.length) return;
    await sleep(250);
  }
}

process.on("message", (m: ToWorker) => {
  switch (m.type) {
    case "start":
      void start(m);
      return;
    case "round":
      round = { id: m.id, cluster: m.cluster, expect: m.expect, times: new Map(), bad: 0, cpu: process.cpuUsage(), reported: false };
      send({ type: "armed", id: m.id });
      return;
    case "collect":
      if (round?.id === m.id) finishRound();
      return;
    case "close":
      for (const c of clients) c.close();
      clients = [];
      setTimeout(() => process.exit(0), 100);
      return;
  }
});
process.on("disconnect", () => process.exit(0));
send({ type: "ready" });
