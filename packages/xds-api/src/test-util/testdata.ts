// Where the shared real-world artifacts live (Envoy bootstrap, Istio config
// dumps…): `<repo root>/../shared/testdata`, or $WEFT_TESTDATA when set.
import { existsSync, readFileSync } from "node:fs";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";

function repoRoot(): string {
  let dir = dirname(fileURLToPath(import.meta.url));
  for (;;) {
    if (existsSync(join(dir, "nx.json"))) return dir;
    const parent = dirname(dir);
    if (parent === dir) throw new Error(`no nx.json above ${fileURLToPath(import.meta.url)}: cannot find the repo root`);
    dir = parent;
  }
}

/** The shared testdata directory. */
export function testdataDir(): string {
  return process.env.WEFT_TESTDATA ? resolve(process.env.WEFT_TESTDATA) : resolve(repoRoot(), "..", "shared", "testdata");
}

/** A path inside the shared testdata directory: `testdataPath("istio", "config-dump-full.json")`. */
export function testdataPath(...parts: string[]): string {
  return join(testdataDir(), ...parts);
}

/** Reads a shared testdata file as UTF-8 text. */
export function readTestdata(...parts: string[]): string {
  return readFileSync(testdataPath(...parts), "utf8");
}
