import { existsSync, readFileSync } from "node:fs";
import { createRequire } from "node:module";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { LocalError } from "./errors.js";

const require = createRequire(import.meta.url);

type WeftPackage = "@weft/discovery" | "@weft/agent" | "@weft/proxy";

interface Manifest {
  bin?: Record<string, string>;
  weft?: { nodeFlags?: unknown };
}

function manifestOf(pkg: WeftPackage): { path: string; manifest: Manifest } {
  let path: string;
  try {
    path = require.resolve(`${pkg}/package.json`);
  } catch {
    throw new LocalError(`${pkg} is not installed`, "run `npm ci` in the Weft workspace (or `npm i @weft/cli`)");
  }
  return { path, manifest: JSON.parse(readFileSync(path, "utf8")) as Manifest };
}

/** The JS entry of a Weft binary from its package's `bin`, run with this Node (no PATH or shebang needed). */
export function weftBinary(pkg: WeftPackage, bin: string): string {
  const { path: manifestPath, manifest } = manifestOf(pkg);
  const relative = manifest.bin?.[bin];
  if (!relative) throw new LocalError(`${pkg} has no binary ${bin}`);
  const path = resolve(dirname(manifestPath), relative);
  if (!existsSync(path)) throw new LocalError(`${path} does not exist`, "build the workspace first: `npx nx run-many -t build`");
  return path;
}

/** One Node option: `--name` or `--name=value`, nothing a shell would have to quote. */
const NODE_FLAG = /^--[a-z0-9][a-z0-9-]*(=[A-Za-z0-9._:/-]+)?$/;

/** Checks a package.json `weft.nodeFlags` value (`where` names it in the error); absent means none. */
export function nodeFlagsFrom(value: unknown, where: string): string[] {
  if (value === undefined) return [];
  if (!Array.isArray(value)) throw new LocalError(`${where}: must be a list of "--flag[=value]" Node options`, "reinstall the package");
  return value.map((f, i) => {
    if (typeof f !== "string" || !NODE_FLAG.test(f)) throw new LocalError(`${where}[${i}] ${JSON.stringify(f)} is not a "--flag[=value]" Node option`, "reinstall the package");
    return f;
  });
}

/**
 * The Node/V8 flags a Weft binary is started with (`weft.nodeFlags` in its package.json): V8 sizes
 * the young generation and its thread pool when the process starts, so whoever starts the binary
 * passes them — here weftctl for the agents it runs, as the agent does for weft-proxy.
 */
export function weftNodeFlags(pkg: WeftPackage): string[] {
  const { path, manifest } = manifestOf(pkg);
  return nodeFlagsFrom(manifest.weft?.nodeFlags, `${path}: weft.nodeFlags`);
}

/** The samples directory (httpbin, sleep, bookinfo), found beside the packages in the Weft workspace. */
export function samplesDir(): string {
  let dir = dirname(fileURLToPath(import.meta.url));
  for (;;) {
    const candidate = join(dir, "samples");
    if (existsSync(join(candidate, "bookinfo"))) return candidate;
    const parent = dirname(dir);
    if (parent === dir) throw new LocalError("cannot find the samples directory", "run weftctl from the Weft workspace, or pass -f with your own manifests");
    dir = parent;
  }
}
