import { spawn } from "node:child_process";
import { existsSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import type { ExecResult } from "./driver.js";

export const REPO_ROOT = join(dirname(fileURLToPath(import.meta.url)), "..", "..", "..");
export const WEFTCTL = join(REPO_ROOT, "packages", "cli", "dist", "bin", "weftctl.js");
export const SAMPLES = join(REPO_ROOT, "samples");

/** Runs weftctl; never rejects on a non-zero exit (the caller asserts). */
export function weftctl(args: string[], options: { timeoutMs?: number; env?: Record<string, string>; uid?: number } = {}): Promise<ExecResult> {
  if (!existsSync(WEFTCTL)) throw new Error(`${WEFTCTL} is missing: build first (npx nx run-many -t build)`);
  // As another user (setpriv, util-linux): what a developer without root runs.
  const [command, argv] =
    options.uid === undefined
      ? [process.execPath, [WEFTCTL, ...args]]
      : ["setpriv", ["--reuid", String(options.uid), "--regid", String(options.uid), "--clear-groups", "--", process.execPath, WEFTCTL, ...args]];
  return new Promise((resolve, reject) => {
    const child = spawn(command, argv, { env: { ...process.env, ...options.env }, stdio: ["ignore", "pipe", "pipe"] });
    let stdout = "";
    let stderr = "";
    child.stdout.on("data", (d: Buffer) => (stdout += d));
    child.stderr.on("data", (d: Buffer) => (stderr += d));
    const timer = setTimeout(() => child.kill("SIGKILL"), options.timeoutMs ?? 120_000);
    child.on("error", reject);
    child.on("close", (code) => {
      clearTimeout(timer);
      resolve({ code: code ?? 1, stdout, stderr });
    });
  });
}
