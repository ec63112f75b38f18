// --concurrency N (N > 1): the primary. It starts N workers, threads or
// processes (worker-handles.ts), each a whole proxy on the same bootstrap
// (listeners, runtime and its own xDS stream) sharing every listener, and it
// owns the admin address: Envoy's admin API over N workers (see
// worker-channel.ts).
//
// Envoy keeps one xDS stream per process, and so does this proxy: worker 0's.
// Each update worker 0 applies (and ACKs) comes here and goes on, in order, to
// every other worker, which applies it to its own runtime; a worker still
// starting gets the updates it missed when it reports ready. So discovery sees
// one connection per node id and pushes once per proxy, not once per worker.
//
// A worker that dies takes the proxy down (as a crash in any Envoy thread
// does): the agent restarts the whole proxy. Signals go to every worker, which
// drain as a single process would; the primary exits when the last one has.
import { createServer, type Server } from "node:http";
import { pino, type Logger } from "pino";
import { createLoggingControl } from "./logging-control.js";
import { createPatternDestination } from "./log-format.js";
import { withNodeFlags } from "./node-flags.js";
import { chooseWorkerKind, startWorker, startWorkerHere, type WorkerHandle } from "./worker-handles.js";
import { createSharedBucketMemory } from "../runtime/shared-bucket-table.js";
import type { AdminReply } from "../admin/admin-server.js";
import type { StatsSnapshot } from "../stats/stats-snapshot.js";
import type { ResourceUpdate } from "../contracts.js";
import type { CommandLineOptions } from "../cli/command-line-options.js";
import { isWeftMessage, type AdminAddress, type PrimaryMessage, type RelayedSignal, type WorkerKind, type WorkerMessage, type WorkerRole } from "./worker-messages.js";

/** Admin paths that change a worker's state: every worker must see them. */
const BROADCAST = new Set(["/healthcheck/fail", "/healthcheck/ok", "/drain_listeners", "/reset_counters", "/quitquitquit", "/logging"]);
const RELAY_TIMEOUT_MS = 10_000;

export interface RunningPrimary {
  /** Resolves with the exit code once every worker has exited. */
  exited: Promise<number>;
  /** Threads or processes. */
  workerKind: WorkerKind;
  /** Workers' pids (processes) or threadIds (threads), by index. */
  workerIds(): number[];
}

export function runPrimary(options: CommandLineOptions, logger?: Logger): RunningPrimary {
  const log = logger ?? primaryLogger(options);
  const n = options.concurrency;
  const workers: WorkerHandle[] = [];
  const ready = new Set<number>();
  let admin: Server | undefined;
  let stopping = false;
  let exitCode = 0;
  let nextId = 1;
  const pending = new Map<number, (m: WorkerMessage) => void>();
  /** xDS updates for workers that have not reported ready yet, in worker 0's order. */
  const missed = new Map<number, ResourceUpdate[]>();
  let resolveExit!: (code: number) => void;
  const exited = new Promise<number>((r) => (resolveExit = r));

  const ask = (w: WorkerHandle, make: (id: number) => PrimaryMessage): Promise<WorkerMessage | undefined> =>
    new Promise((resolve) => {
      const id = nextId++;
      const timer = setTimeout(() => {
        pending.delete(id);
        resolve(undefined);
      }, RELAY_TIMEOUT_MS);
      pending.set(id, (m) => {
        clearTimeout(timer);
        resolve(m);
      });
      if (!w.connected()) {
        clearTimeout(timer);
        pending.delete(id);
        resolve(undefined);
        return;
      }
      w.send(make(id));
    });

  const live = (): WorkerHandle[] => workers.filter((w) => w.connected());

  const onMessage = (w: WorkerHandle, index: number, m: unknown): void => {
    if (!isWeftMessage(m)) return;
    const msg = m as WorkerMessage;
    switch (msg.weft) {
      case "ready":
        ready.add(index);
        for (const update of missed.get(index) ?? []) w.send({ weft: "xds-update", update });
        missed.delete(index);
        if (index === 0 && msg.admin && !admin) startAdmin(msg.admin);
        if (ready.size === n) log.info({ workers: n }, "all workers started");
        return;
      case "xds-update":
        if (index !== 0) return;
        for (let i = 1; i < workers.length; i++) {
          if (ready.has(i)) workers[i]!.send(msg);
          else {
            let backlog = missed.get(i);
            if (!backlog) missed.set(i, (backlog = []));
            backlog.push(msg.update);
          }
        }
        return;
      case "admin-reply":
      case "stats-reply":
        pending.get(msg.id)?.(msg);
        pending.delete(msg.id);
        return;
      case "peer-stats": {
        const others = live().filter((o) => o !== w);
        void Promise.all(others.map((o) => ask(o, (id) => ({ weft: "stats", id })))).then((replies) => {
          const snapshots: StatsSnapshot[] = [];
          for (const r of replies) if (r?.weft === "stats-reply") snapshots.push(r.snapshot);
          w.send({ weft: "peer-stats-reply", id: msg.id, snapshots });
        });
        return;
      }
    }
  };

  const relay = async (method: string, url: string): Promise<AdminReply> => {
    const path = new URL(url, "http://admin").pathname;
    const all = live();
    if (all.length === 0) return { status: 503, body: "no live worker\n" };
    const mutates = method === "POST" && BROADCAST.has(path);
    // Workers leave on /quitquitquit: expected, not a crash.
    if (mutates && path === "/quitquitquit") stopping = true;
    const targets = mutates || path === "/ready" ? all : [all[0]!];
    const replies = await Promise.all(targets.map((w) => ask(w, (id) => ({ weft: "admin", id, method, url }))));
    const got = replies.map((r) => (r?.weft === "admin-reply" ? r.reply : { status: 504, body: "worker did not answer\n" }));
    // Not ready / failed anywhere means not ready / failed for the proxy.
    return got.find((r) => (r.status ?? 200) >= 300) ?? got[0]!;
  };

  const startAdmin = (addr: AdminAddress): void => {
    admin = createServer((req, res) => {
      void relay(req.method ?? "GET", req.url ?? "/").then((reply) => {
        const headers: Record<string, string> = { "content-type": reply.type ?? "text/plain; charset=UTF-8", "cache-control": "no-cache, max-age=0", "x-content-type-options": "nosniff" };
        if (reply.status === 405) headers["allow"] = "POST";
        res.writeHead(reply.status ?? 200, headers);
        res.end(req.method === "HEAD" ? undefined : reply.body);
      });
      req.resume();
    });
    admin.keepAliveTimeout = 5000;
    admin.on("error", (err) => {
      log.error({ err }, "admin: cannot listen");
      shutdown(1);
    });
    if ("path" in addr) admin.listen(addr.path);
    else admin.listen(addr.port, addr.host, () => log.info({ address: `${addr.host}:${(admin!.address() as { port: number }).port}` }, "admin listening"));
  };

  const shutdown = (code: number, signal: RelayedSignal = "SIGTERM"): void => {
    exitCode = Math.max(exitCode, code);
    const first = !stopping;
    stopping = true;
    for (const w of workers) w.signal(signal);
    // A second signal means "now" for the workers, as for a single process.
    if (first && code !== 0) setTimeout(() => workers.forEach((w) => w.signal("SIGTERM")), 100).unref();
  };

  const { kind, why } = chooseWorkerKind();
  if (why) log.info(`--concurrency ${n}: worker processes (${why})`);
  // Workers run with the sidecar's Node flags even when the primary was started without them.
  const execArgv = withNodeFlags(process.execArgv);
  // Allocated once here and handed to every worker thread: their local_ratelimit buckets are one set per process.
  const rateLimitBuckets = kind === "thread" ? createSharedBucketMemory() : undefined;
  const launch = { entry: process.argv[1]!, args: process.argv.slice(2), execArgv, maxYoungGenerationSizeMb: youngGenerationMb(execArgv), rateLimitBuckets };
  let alive = n;
  // Worker 0 of a threads proxy runs here, on the primary's thread; its data path is loaded only now.
  const runHere = async (role: WorkerRole): Promise<number> => (await import("./proxy-main.js")).runProxyMain(options, role);
  for (let i = 0; i < n; i++) {
    const w = kind === "thread" && i === 0 ? startWorkerHere(i, runHere, rateLimitBuckets) : startWorker(kind, i, launch);
    workers.push(w);
    w.onMessage((m) => onMessage(w, i, m));
    w.onExit((code, signal, error) => {
      alive--;
      if (!stopping) {
        log.error({ worker: i, code, signal, err: error }, "worker exited: stopping the proxy");
        shutdown(code || 1);
      } else if (code) exitCode = Math.max(exitCode, code);
      if (alive === 0) {
        admin?.close();
        admin?.closeAllConnections();
        log.flush(() => resolveExit(exitCode));
      }
    });
  }

  const onSignal = (sig: RelayedSignal) => {
    log.info(`${sig}: passing it to the workers`);
    shutdown(0, sig);
  };
  process.on("SIGTERM", onSignal);
  process.on("SIGINT", onSignal);
  // /quitquitquit reaches every worker as an admin request; they exit on their own.
  return { exited, workerKind: kind, workerIds: () => workers.map((w) => w.id) };
}

/** A worker thread's young generation from --max-semi-space-size (V8: two semi-spaces plus as much for large objects). */
function youngGenerationMb(execArgv: readonly string[]): number | undefined {
  const semi = execArgv.map((a) => /^--max[-_]semi[-_]space[-_]size=(\d+)$/.exec(a)?.[1]).find((v) => v !== undefined);
  return semi ? 3 * Number(semi) : undefined;
}

/** The same log shape and destination as a worker's (stderr or --log-path, --log-format). */
function primaryLogger(options: CommandLineOptions): Logger {
  const base = options.logPath ? pino.destination({ dest: options.logPath, sync: false, mkdir: true }) : pino.destination({ fd: 2, sync: false });
  const logging = createLoggingControl({
    level: options.logLevel,
    componentLevels: options.componentLogLevels,
    destination: options.logFormat ? createPatternDestination(options.logFormat, base) : base,
  });
  return logging.component("main");
}
