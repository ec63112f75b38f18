// A ConfigSource over a directory of Kubernetes YAML/JSON, watched. Each file
// keeps its last good objects: a file that stops parsing keeps what it had (and
// reports why), an invalid object is reported and skipped, and the rest keep
// serving. fs.watch (recursive where the platform has it) wakes us quickly; a
// poll catches what watchers miss (editors that rename, network mounts).
import { statSync, watch, type FSWatcher } from "node:fs";
import { readdir, readFile, stat } from "node:fs/promises";
import { join, relative } from "node:path";
import type { Logger } from "pino";
import type { ConfigChange, ConfigError, ConfigObject, ConfigSnapshot, ConfigSource } from "../contracts.js";
import { diffObjects } from "./diff-objects.js";
import { isObject } from "./field-checker.js";
import { CLUSTER_SCOPED } from "./kinds.js";
import { parseDocuments, SyntaxFileError } from "./parse-documents.js";
import { validateDocument } from "./validate-object.js";

export interface DirectorySourceOptions {
  dir: string;
  logger: Logger;
  /** DNS domain for service FQDNs in change events (default cluster.local). */
  domain?: string;
  /** Poll interval in ms for the fallback scan (default 1000; 0 disables). */
  pollMs?: number;
  /** Quiet time that coalesces a burst of file events into one rescan (default 50 ms). */
  coalesceMs?: number;
}

interface FileState {
  text: string;
  /** mtime, size and inode when read: a poll re-reads the file only when one of them moved. */
  stamp?: string;
  objects: ConfigObject[];
  errors: ConfigError[];
  /** Set while the file does not parse; objects are the last good ones. */
  syntaxError?: ConfigError;
}

const CONFIG_FILE = /\.(ya?ml|json)$/i;

export function createDirectorySource(options: DirectorySourceOptions): ConfigSource {
  const { dir, logger } = options;
  const domain = options.domain ?? "cluster.local";
  const pollMs = options.pollMs ?? 1000;
  const coalesceMs = options.coalesceMs ?? 50;
  const files = new Map<string, FileState>();
  const listeners = new Set<(change: ConfigChange) => void>();
  let current: ConfigSnapshot = { objects: [], errors: [] };
  let watcher: FSWatcher | undefined;
  let poller: NodeJS.Timeout | undefined;
  let timer: NodeJS.Timeout | undefined;
  let scanning: Promise<void> | undefined;
  let stopped = false;

  async function listFiles(root: string): Promise<string[]> {
    const out: string[] = [];
    let entries;
    try {
      entries = await readdir(root, { withFileTypes: true });
    } catch (err) {
      if (root === dir) throw new Error(`config directory ${dir} cannot be read: ${(err as Error).message}`);
      return out;
    }
    for (const e of entries) {
      if (e.name.startsWith(".")) continue; // editor swap files, ..data symlinks of ConfigMap mounts
      const full = join(root, e.name);
      if (e.isDirectory()) out.push(...(await listFiles(full)));
      else if ((e.isFile() || e.isSymbolicLink()) && CONFIG_FILE.test(e.name)) out.push(full);
    }
    return out.sort();
  }

  function loadFile(rel: string, text: string, previous: FileState | undefined): FileState {
    try {
      const docs = parseDocuments(text, rel);
      const objects: ConfigObject[] = [];
      const errors: ConfigError[] = [];
      for (const { doc, origin } of docs) {
        const v = validateDocument(doc, origin);
        if (v.object) {
          objects.push(v.object);
          continue;
        }
        // Like an admission webhook rejecting an update: an edit that makes an
        // object invalid keeps its last good version serving.
        const key = rawKey(doc);
        const lastGood = key ? previous?.objects.find((o) => objectKey(o) === key) : undefined;
        if (lastGood) {
          objects.push(lastGood);
          errors.push(...v.errors.map((e) => ({ ...e, reason: `${e.reason}; keeping the last good version of this object` })));
        } else errors.push(...v.errors);
      }
      return { text, objects, errors };
    } catch (err) {
      if (!(err instanceof SyntaxFileError)) throw err;
      const syntaxError: ConfigError = { origin: err.origin, reason: `${err.message}; keeping the last good objects of this file (${previous?.objects.length ?? 0})` };
      return { text, objects: previous?.objects ?? [], errors: previous?.errors ?? [], syntaxError };
    }
  }

  function rebuildSnapshot(): ConfigSnapshot {
    const seen = new Map<string, string>();
    const objects: ConfigObject[] = [];
    const errors: ConfigError[] = [];
    for (const [, state] of [...files].sort(([a], [b]) => a.localeCompare(b))) {
      if (state.syntaxError) errors.push(state.syntaxError);
      errors.push(...state.errors);
      for (const o of state.objects) {
        const key = objectKey(o);
        const first = seen.get(key);
        if (first !== undefined) {
          errors.push({ origin: o.origin, object: `${o.kind} ${o.metadata.namespace}/${o.metadata.name}`, field: "metadata.name", reason: `duplicate of the object in ${first}; the first one is used` });
          continue;
        }
        seen.set(key, o.origin);
        objects.push(o);
      }
    }
    return { objects, errors };
  }

  /** Re-reads `only` (relative paths named by fs.watch), or every file when undefined. */
  async function scan(only?: ReadonlySet<string>): Promise<void> {
    let dirty = false;
    /** Reads `rel`; with `ifMoved` (the poll), only when its stat changed since the last read. */
    const load = async (rel: string, ifMoved = false): Promise<void> => {
      let text: string;
      let stamp: string;
      try {
        // Synchronous on purpose: a metadata-only syscall is cheaper than a
        // thread-pool round trip and a promise, and the poll makes 500 of them.
        const st = statSync(join(dir, rel));
        stamp = `${st.mtimeMs}/${st.size}/${st.ino}`;
        if (ifMoved && files.get(rel)?.stamp === stamp) return;
        text = await readFile(join(dir, rel), "utf8");
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code === "ENOENT" && files.delete(rel)) dirty = true;
        else logger.debug({ file: rel, err }, "config file unreadable");
        return;
      }
      const previous = files.get(rel);
      if (previous && previous.text === text) {
        previous.stamp = stamp;
        return;
      }
      files.set(rel, { ...loadFile(rel, text, previous), stamp });
      dirty = true;
    };
    if (only) {
      for (const rel of only) await load(rel);
    } else {
      const present = new Set<string>();
      for (const full of await listFiles(dir)) {
        const rel = relative(dir, full) || full;
        present.add(rel);
        await load(rel, files.size > 0);
      }
      for (const rel of [...files.keys()]) {
        if (!present.has(rel)) {
          files.delete(rel);
          dirty = true;
        }
      }
    }
    if (!dirty) return;
    const before = current;
    current = rebuildSnapshot();
    for (const e of current.errors) logger.warn({ origin: e.origin, object: e.object, field: e.field }, `config error: ${e.reason}`);
    const change = diffObjects(before.objects, current.objects, domain);
    if (change.kinds.size === 0 && sameErrors(before.errors, current.errors)) return;
    logger.info({ kinds: [...change.kinds], endpointsOnly: change.endpointsOnly, objects: current.objects.length, errors: current.errors.length }, "config changed");
    for (const l of listeners) {
      try {
        l(change);
      } catch (err) {
        logger.error({ err }, "config change listener failed");
      }
    }
  }

  // What the next scan must look at: named files (from fs.watch) or everything.
  let requested: Set<string> | "all" | undefined;

  function request(what: string | "all"): void {
    if (what === "all" || requested === "all") {
      requested = "all";
      return;
    }
    const set = requested ?? new Set<string>();
    set.add(what);
    requested = set;
  }

  /** Serializes scans; requests made during a scan are served by one more afterwards. */
  function rescan(): Promise<void> {
    if (scanning) return scanning;
    const what = requested;
    requested = undefined;
    if (what === undefined) return Promise.resolve();
    scanning = scan(what === "all" ? undefined : what)
      .catch((err: unknown) => logger.error({ err }, "config directory scan failed"))
      .finally(() => {
        scanning = undefined;
        if (requested !== undefined && !stopped) void rescan();
      });
    return scanning;
  }

  function schedule(): void {
    if (stopped) return;
    if (timer) clearTimeout(timer);
    timer = setTimeout(() => {
      timer = undefined;
      void rescan();
    }, coalesceMs);
  }

  /** fs.watch names the file that changed: re-read just that one; anything else (directories, renames of folders) rescans all. */
  function onWatch(_event: string, filename: string | Buffer | null): void {
    const name = filename === null ? undefined : filename.toString();
    if (name && CONFIG_FILE.test(name) && !name.split(/[\\/]/).some((part) => part.startsWith("."))) request(name);
    else request("all");
    schedule();
  }

  return {
    async start() {
      stopped = false;
      const s = await stat(dir).catch((err: Error) => {
        throw new Error(`config directory ${dir} cannot be read: ${err.message}`);
      });
      if (!s.isDirectory()) throw new Error(`config directory ${dir} is not a directory`);
      await scan();
      try {
        watcher = watch(dir, { recursive: true }, onWatch);
        watcher.on("error", (err) => logger.debug({ err }, "fs.watch failed; relying on polling"));
      } catch (err) {
        logger.debug({ err }, "recursive fs.watch unavailable; relying on polling");
      }
      if (pollMs > 0) {
        poller = setInterval(() => {
          request("all");
          void rescan();
        }, pollMs);
        poller.unref();
      }
    },
    async stop() {
      stopped = true;
      watcher?.close();
      watcher = undefined;
      if (poller) clearInterval(poller);
      if (timer) clearTimeout(timer);
      poller = timer = undefined;
      await scanning;
    },
    snapshot: () => current,
    onChange(listener) {
      listeners.add(listener);
      return () => listeners.delete(listener);
    },
  };
}

function objectKey(o: ConfigObject): string {
  return `${o.kind}/${o.metadata.namespace}/${o.metadata.name}`;
}

/** The key a raw document would have, if it has a kind and a name. */
function rawKey(doc: unknown): string | undefined {
  if (!isObject(doc) || typeof doc.kind !== "string" || !isObject(doc.metadata) || typeof doc.metadata.name !== "string") return undefined;
  const ns = typeof doc.metadata.namespace === "string" && doc.metadata.namespace !== "" ? doc.metadata.namespace : CLUSTER_SCOPED.has(doc.kind) ? "" : "default";
  return `${doc.kind}/${ns}/${doc.metadata.name}`;
}

function sameErrors(a: readonly ConfigError[], b: readonly ConfigError[]): boolean {
  return a.length === b.length && JSON.stringify(a) === JSON.stringify(b);
}
