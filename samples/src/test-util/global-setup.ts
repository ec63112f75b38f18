import { execFileSync } from "node:child_process";
import { createRequire } from "node:module";
import { fileURLToPath } from "node:url";

/**
 * Build dist/ before the process tests run, so they spawn the programs exactly
 * as the local mesh does (`node dist/bin/<name>.js`), fresh from the sources.
 * tsc is incremental (dist/.tsbuildinfo): a no-change build takes a moment.
 */
export default function setup(): void {
  const cwd = fileURLToPath(new URL("../..", import.meta.url));
  const tsc = createRequire(import.meta.url).resolve("typescript/bin/tsc");
  execFileSync(process.execPath, [tsc, "-p", "tsconfig.lib.json"], { cwd, stdio: "inherit" });
}
