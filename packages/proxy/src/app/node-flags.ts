// The Node/V8 flags a weft-proxy process runs with. They are startup-only
// (V8 sizes the young generation when the isolate is created; setting them at
// runtime has no effect), so whatever starts the proxy passes them: the agent
// (`node <flags> weft-proxy.js`), the --concurrency primary for its worker
// processes (node:cluster execArgv; worker threads share the process's flags
// and get the young-generation cap as a resource limit), and
// bench/proxy/run.mjs, which runs the sidecar the way production does.
//
// The list lives in this package's package.json (`weft.nodeFlags`) so that a
// launcher which may not import this package (the agent: Nx module boundaries
// allow it only @weft/xds-api) reads the flags of the proxy it actually
// starts, from the same place. PROXY_NODE_FLAGS is that list for TypeScript.
//
// --max-semi-space-size=1 caps each young-generation semi-space at 1 MiB
// (V8's default grows it to 16 MiB on 64-bit under allocation pressure): the
// proxy's per-request garbage is short-lived, so a small nursery costs a few
// more scavenges but keeps ~25-30 MB of RSS off every sidecar (bench/RESULTS.md,
// "Memory", has the paired CPU measurements).
//
// --v8-pool-size=1: one V8 background thread (concurrent compilation and GC
// helpers) instead of four. A proxy process runs one event loop (more cores
// means more --concurrency processes, each with its own pool), and the extra
// threads cost their stacks and malloc arenas: −2.5 MB RSS idle, −1 MB under
// load, CPU per request unchanged in six paired runs (bench/RESULTS.md,
// "session 5").
//
// --single-threaded-gc: the collector works on the main thread only. With
// helper threads, a scavenge of a proxy at 1000 rps does 0.2 ms of work but
// pauses until its helper has been scheduled — 3-22 ms when the process is
// held to one busy core (a pinned bench, a sidecar at its CPU limit), which
// set the p99. Paired runs: p99 at 1000 rps 5.6/9.5/7.9 → 3.6/5.9/2.4 ms,
// CPU per request no worse; RSS idle +1-2 MB (sweeping is lazy on the main
// thread).
import { createRequire } from "node:module";
import { setFlagsFromString } from "node:v8";

/** One flag: `--name` or `--name=value`, nothing a shell would have to quote. */
const FLAG = /^--[a-z0-9][a-z0-9-]*(=[A-Za-z0-9._:/-]+)?$/;

/** Checks a list of Node flags (`where` names it, e.g. "package.json weft.nodeFlags"); throws naming the bad entry. */
export function parseNodeFlags(value: unknown, where: string): string[] {
  if (value === undefined) return [];
  if (!Array.isArray(value)) throw new Error(`${where} must be an array of "--flag[=value]" strings`);
  return value.map((f, i) => {
    if (typeof f !== "string" || !FLAG.test(f)) {
      throw new Error(`${where}[${i}] ${JSON.stringify(f)} is not a "--flag[=value]" Node option`);
    }
    return f;
  });
}

const pkg = createRequire(import.meta.url)("../../package.json") as { weft?: { nodeFlags?: unknown } };

/** The Node/V8 flags every weft-proxy process is started with (package.json `weft.nodeFlags`). */
export const PROXY_NODE_FLAGS: readonly string[] = Object.freeze(parseNodeFlags(pkg.weft?.nodeFlags, "@weft/proxy package.json: weft.nodeFlags"));

/**
 * V8 settings the proxy gives itself when it starts, so they hold however it
 * was launched. Unlike the young generation's size, V8 reads these on every
 * major GC, so setting them at runtime works (measured: an unknown one would
 * be ignored here, where on the command line it stops Node from starting).
 *
 * --heap-growing-percent=50: after each mark-compact the old generation may
 * grow to 1.5× what survived before the next one (V8 picks 1.1-4× from its
 * GC/mutator speed; under load it let a proxy with ~23 MB live grow to 70 MB of
 * promoted garbage). With a 1 MiB nursery much per-request garbage is promoted
 * (requests in flight at a scavenge), so this is what keeps RSS under load near
 * the idle figure: 157 → 94 MB peak under wrk -c64 (bench/RESULTS.md, "Memory").
 */
export const PROXY_RUNTIME_V8_FLAGS: readonly string[] = Object.freeze(["--heap-growing-percent=50"]);

/**
 * Applies PROXY_RUNTIME_V8_FLAGS to this process (before the data path is
 * loaded); WEFT_PROXY_RUNTIME_V8_FLAGS (space-separated, empty for none)
 * replaces them, for measurements and operators.
 */
export function applyRuntimeV8Flags(env: Record<string, string | undefined> = process.env): string[] {
  const override = env.WEFT_PROXY_RUNTIME_V8_FLAGS;
  const flags = override === undefined ? [...PROXY_RUNTIME_V8_FLAGS] : parseNodeFlags(override.split(/\s+/).filter(Boolean), "WEFT_PROXY_RUNTIME_V8_FLAGS");
  for (const f of flags) setFlagsFromString(f);
  return flags;
}

/** The flag's name: `--max-semi-space-size=1` → `--max-semi-space-size`; `_` and `-` are the same to Node. */
function flagName(flag: string): string {
  const eq = flag.indexOf("=");
  return (eq < 0 ? flag : flag.slice(0, eq)).replace(/_/g, "-");
}

/**
 * `execArgv` plus each of `flags` it does not already set (by name): what a
 * --concurrency worker runs with, so a proxy started without the flags (a
 * plain `weft-proxy` from PATH) still gets them in its workers, and one started
 * with other values keeps those.
 */
export function withNodeFlags(execArgv: readonly string[], flags: readonly string[] = PROXY_NODE_FLAGS): string[] {
  const present = new Set(execArgv.filter((a) => a.startsWith("--")).map(flagName));
  return [...execArgv, ...flags.filter((f) => !present.has(flagName(f)))];
}
