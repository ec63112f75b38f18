// The workers of a --concurrency N proxy, as the primary sees them. Two kinds:
//
// - threads (the default): worker 0 on the primary's own thread, the others
//   worker_threads of its process, each a whole proxy binding every listener
//   itself with SO_REUSEPORT (listener/reuse-port.ts). They share the
//   process's Node binary, builtins and allocator, so a worker beyond the
//   first costs its own heap (~25 MB) rather than a whole process (~70 MB).
// - processes (node:cluster): where listeners can't be shared between threads
//   (no SO_REUSEPORT: not Linux, or Node < 22.12 without Weft's socket addon),
//   or when WEFT_PROXY_WORKERS=processes asks for it. The primary accepts and
//   hands connections round-robin to the workers.
//
// Either way a worker that dies takes the proxy down, as a crash in any Envoy
// thread does.
import cluster from "node:cluster";
import { MessageChannel, Worker } from "node:worker_threads";
import { reusePortUnavailableReason } from "../listener/reuse-port.js";
import { WORKER_INDEX_ENV, type PrimaryMessage, type RelayedSignal, type WorkerKind, type WorkerRole, type WorkerThreadData } from "./worker-messages.js";

export interface WorkerHandle {
  readonly kind: WorkerKind;
  /** The worker process's pid, or the worker thread's threadId. */
  readonly id: number;
  connected(): boolean;
  dead(): boolean;
  send(m: PrimaryMessage): void;
  /** SIGTERM/SIGINT to the worker: a process gets the signal, a thread (which receives none) a message. */
  signal(sig: RelayedSignal): void;
  onMessage(cb: (m: unknown) => void): void;
  /** `error`: what ended a worker thread that threw (a process prints its own). */
  onExit(cb: (code: number, signal: string | null, error?: Error) => void): void;
}

export interface WorkerLaunch {
  /** The proxy's entry script and its arguments, as the primary was started. */
  entry: string;
  args: string[];
  /** Node flags for a worker process (threads share the primary's). */
  execArgv: string[];
  /** A worker thread's young-generation cap (the process's --max-semi-space-size may be unset). */
  maxYoungGenerationSizeMb?: number;
  /** Memory every worker thread shares (local_ratelimit buckets); worker processes can't. */
  rateLimitBuckets?: SharedArrayBuffer;
}

/** The kind of worker this proxy runs, and why when it is not threads. */
export function chooseWorkerKind(env: Record<string, string | undefined> = process.env): { kind: WorkerKind; why?: string } {
  const asked = env.WEFT_PROXY_WORKERS;
  if (asked === "processes") return { kind: "process", why: "WEFT_PROXY_WORKERS=processes" };
  const unavailable = reusePortUnavailableReason();
  if (unavailable) {
    const why = asked === "threads" ? `WEFT_PROXY_WORKERS=threads is not possible here: ${unavailable}` : unavailable;
    return { kind: "process", why };
  }
  return { kind: "thread" };
}

export function startWorker(kind: WorkerKind, index: number, launch: WorkerLaunch): WorkerHandle {
  return kind === "thread" ? startWorkerThread(index, launch) : forkWorkerProcess(index, launch);
}

/**
 * A thread worker on the primary's own thread (worker 0 of a threads proxy):
 * `run` is the proxy's main, talking to the primary over a MessageChannel as
 * a worker thread does over its parentPort. Saves the isolate a separate
 * thread would need: ≈ 15 MB at --concurrency 2.
 */
export function startWorkerHere(index: number, run: (role: WorkerRole) => Promise<number>, rateLimitBuckets?: SharedArrayBuffer): WorkerHandle {
  const { port1, port2 } = new MessageChannel();
  const ended = run({ index, kind: "thread", port: port2, rateLimitBuckets }).then(
    (code): WorkerEnd => ({ code }),
    (err: unknown): WorkerEnd => ({ code: 1, error: err instanceof Error ? err : new Error(String(err)) }),
  );
  void ended.then(() => port1.close());
  return threadHandle(0, port1, ended);
}

function startWorkerThread(index: number, launch: WorkerLaunch): WorkerHandle {
  // A SharedArrayBuffer in workerData is shared, not copied: the thread sees the primary's memory.
  const workerData: WorkerThreadData = { weftWorkerIndex: index, weftRateLimitBuckets: launch.rateLimitBuckets };
  const resourceLimits = launch.maxYoungGenerationSizeMb ? { maxYoungGenerationSizeMb: launch.maxYoungGenerationSizeMb } : undefined;
  const w = new Worker(launch.entry, { argv: launch.args, workerData, resourceLimits });
  let error: Error | undefined;
  w.on("error", (err) => (error = err));
  // An uncaught exception ends the thread: 'error', then 'exit' with code 1.
  const ended = new Promise<WorkerEnd>((resolve) => w.once("exit", (code) => resolve({ code, error })));
  return threadHandle(w.threadId, w, ended);
}

interface WorkerEnd {
  code: number;
  error?: Error;
}

/** Either thread worker as the primary sees it: messages over a port (a Worker, or a MessageChannel end), signals as messages. */
function threadHandle(id: number, port: { postMessage(m: PrimaryMessage): void; on(event: "message", listener: (m: unknown) => void): unknown }, ended: Promise<WorkerEnd>): WorkerHandle {
  let exited = false;
  void ended.then(() => (exited = true));
  const send = (m: PrimaryMessage): void => {
    if (!exited) port.postMessage(m);
  };
  return {
    kind: "thread",
    id,
    connected: () => !exited,
    dead: () => exited,
    send,
    signal: (sig) => send({ weft: "signal", signal: sig }),
    onMessage: (cb) => void port.on("message", cb),
    onExit: (cb) => void ended.then(({ code, error }) => cb(code, null, error)),
  };
}

function forkWorkerProcess(index: number, launch: WorkerLaunch): WorkerHandle {
  // Structured clone rather than JSON over IPC: xDS updates carry protobuf bytes (Uint8Array).
  cluster.setupPrimary({ exec: launch.entry, args: launch.args, execArgv: launch.execArgv, silent: false, serialization: "advanced" });
  const w = cluster.fork({ [WORKER_INDEX_ENV]: String(index) });
  return {
    kind: "process",
    id: w.process.pid!,
    connected: () => w.isConnected(),
    dead: () => w.isDead(),
    send: (m) => {
      if (w.isConnected()) w.send(m);
    },
    signal(sig) {
      if (!w.isDead()) w.process.kill(sig);
    },
    onMessage: (cb) => void w.on("message", cb),
    onExit: (cb) => void w.on("exit", (code, signal) => cb(code, signal)),
  };
}
