// Scenario YAML written where `weftctl local apply -f` (or kubectl) can read it.
import { mkdtemp, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";

/** Writes `text` to `<a fresh temp dir>/<name>.yaml` and returns the path. */
export async function manifestFile(name: string, text: string): Promise<string> {
  const file = join(await mkdtemp(join(tmpdir(), "weft-e2e-")), `${name}.yaml`);
  await writeFile(file, text);
  return file;
}
