import { existsSync, readFileSync } from "node:fs";
import { createRequire } from "node:module";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { LocalError } from "./errors.js";

const require = createRequire(import.meta.url);

/** The JS entry of a Weft binary from its package's `bin`, run with this Node (no PATH or shebang needed). */
export function weftBinary(pkg: "@weft/discovery" | "@weft/agent" | "@weft/proxy", bin: string): string {
  let manifestPath: string;
  try {
    manifestPath = require.resolve(`${pkg}/package.json`);
  } catch {
    throw new LocalError(`${pkg} is not installed`, "run `npm ci` in the Weft workspace (or `npm i @weft/cli`)");
  }
  const manifest = JSON.parse(readFileSync(manifestPath, "utf8")) as { bin?: Record<string, string> };
  const relative = manifest.bin?.[bin];
  if (!relative) throw new LocalError(`${pkg} has no binary ${bin}`);
  const path = resolve(dirname(manifestPath), relative);
  if (!existsSync(path)) throw new LocalError(`${path} does not exist`, "build the workspace first: `npx nx run-many -t build`");
  return path;
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
