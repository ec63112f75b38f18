import { spawn, type ChildProcess } from "node:child_process";
import { fileURLToPath } from "node:url";
import { createInterface } from "node:readline";

const SAMPLES_DIR = fileURLToPath(new URL("../..", import.meta.url));

export interface RunningApp {
  url: string;
  port: number;
  proc: ChildProcess;
  /** Everything the app wrote, for failure messages. */
  output: () => string;
  /** SIGTERM and wait for the exit; resolves with the exit code. */
  stop: () => Promise<number | null>;
}

/**
 * Start one sample program (dist/bin/<name>.js, built by the global setup) as a real process on 127.0.0.1 with an ephemeral port (PORT=0), and
 * wait for its "listening" log line (or the line `ready` accepts) to learn the port.
 */
export function spawnApp(name: string, args: string[] = [], env: Record<string, string> = {}, ready: (msg: string) => boolean = (m) => m.endsWith("listening")): Promise<RunningApp> {
  const proc = spawn(process.execPath, [`dist/bin/${name}.js`, ...args], {
    cwd: SAMPLES_DIR,
    env: { ...process.env, PORT: "0", BIND_ADDRESS: "127.0.0.1", LOG_LEVEL: "info", ...env },
    stdio: ["ignore", "pipe", "pipe"],
  });
  let log = "";
  proc.stderr!.on("data", (c: Buffer) => (log += c.toString()));
  const exited = new Promise<number | null>((resolve) => proc.once("exit", (code) => resolve(code)));
  const stop = async (): Promise<number | null> => {
    if (proc.exitCode === null && proc.signalCode === null) proc.kill("SIGTERM");
    return exited;
  };
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      proc.kill("SIGKILL");
      reject(new Error(`${name} did not start within 30 s:\n${log}`));
    }, 30_000);
    void exited.then((code) => {
      clearTimeout(timer);
      reject(new Error(`${name} exited with ${code} before listening:\n${log}`));
    });
    createInterface({ input: proc.stdout! }).on("line", (line) => {
      log += `${line}\n`;
      try {
        const entry = JSON.parse(line) as { msg?: string; port?: number };
        if (entry.msg !== undefined && ready(entry.msg)) {
          clearTimeout(timer);
          const port = entry.port ?? 0;
          resolve({ url: `http://127.0.0.1:${port}`, port, proc, output: () => log, stop });
        }
      } catch {
        // not a log line
      }
    });
  });
}
