// Runs the real weft-proxy entry point (from source, through tsx) as a child
// process with a bootstrap file, and waits until its admin says LIVE.
import { spawn, type ChildProcess } from "node:child_process";
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { createRequire } from "node:module";
import { fileURLToPath, pathToFileURL } from "node:url";

const BIN = fileURLToPath(new URL("../bin/weft-proxy.ts", import.meta.url));
// The child runs in a temp dir: give --import an absolute URL to tsx's loader.
const TSX = pathToFileURL(createRequire(import.meta.url).resolve("tsx")).href;

export interface ProxyProcess {
  child: ChildProcess;
  stderr(): string;
  stop(): Promise<void>;
}

export async function spawnProxy(dir: string, name: string, bootstrap: unknown, adminPort: number, timeoutMs = 120_000): Promise<ProxyProcess> {
  const cfg = join(dir, `${name}.json`);
  writeFileSync(cfg, JSON.stringify(bootstrap, null, 1));
  const child = spawn(process.execPath, ["--import", TSX, BIN, "-c", cfg, "-l", process.env.WEFT_TEST_PROXY_LOG ?? "warn"], { cwd: dir, stdio: ["ignore", "ignore", "pipe"] });
  let err = "";
  child.stderr!.on("data", (d: Buffer) => (err += d.toString()));
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (child.exitCode !== null) throw new Error(`weft-proxy ${name} exited with ${child.exitCode}: ${err}`);
    const live = await fetch(`http://127.0.0.1:${adminPort}/ready`).then(
      (r) => r.text(),
      () => "",
    );
    if (live.trim() === "LIVE") break;
    if (Date.now() > deadline) {
      child.kill("SIGKILL");
      throw new Error(`weft-proxy ${name} not LIVE after ${timeoutMs} ms (ready: ${live.trim() || "no answer"}): ${err}`);
    }
    await new Promise((r) => setTimeout(r, 200));
  }
  return {
    child,
    stderr: () => err,
    async stop() {
      if (child.exitCode !== null) return;
      const gone = new Promise((r) => child.once("exit", r));
      child.kill("SIGKILL");
      await gone;
    },
  };
}
