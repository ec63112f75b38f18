// The shared real-world artifacts: `<repo root>/../shared/testdata`, or $WEFT_TESTDATA.
import { existsSync, readFileSync } from "node:fs";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";

function repoRoot(): string {
  let dir = dirname(fileURLToPath(import.meta.url));
  while (!existsSync(join(dir, "nx.json"))) {
    const parent = dirname(dir);
    if (parent === dir) throw new Error("cannot find the repo root (nx.json)");
    dir = parent;
  }
  return dir;
}

export function testdataPath(...parts: string[]): string {
  return join(process.env.WEFT_TESTDATA ? resolve(process.env.WEFT_TESTDATA) : resolve(repoRoot(), "..", "shared", "testdata"), ...parts);
}

export function readTestdata(...parts: string[]): string {
  return readFileSync(testdataPath(...parts), "utf8");
}
