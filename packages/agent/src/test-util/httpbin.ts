import { spawn, type ChildProcess } from "node:child_process";
import { existsSync } from "node:fs";
import { createServer } from "node:net";

/** Debian's python3-httpbin, a real HTTP app for probe tests; undefined when it is not installed. */
export const HTTPBIN_PYTHON = existsSync("/usr/lib/python3/dist-packages/httpbin/__init__.py") ? "/usr/bin/python3" : undefined;

export async function freePort(host = "127.0.0.1"): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.once("error", reject);
    s.listen(0, host, () => {
      const port = (s.address() as { port: number }).port;
      s.close(() => resolve(port));
    });
  });
}

export async function startHttpbin(port: number): Promise<ChildProcess> {
  const child = spawn(HTTPBIN_PYTHON!, ["-m", "httpbin.core", "--host", "127.0.0.1", "--port", String(port)], { stdio: "ignore" });
  const deadline = Date.now() + 10_000;
  for (;;) {
    try {
      const r = await fetch(`http://127.0.0.1:${port}/get`);
      if (r.ok) return child;
    } catch {
      /* not yet */
    }
    if (Date.now() > deadline) {
      child.kill();
      throw new Error("httpbin did not start");
    }
    await new Promise((r) => setTimeout(r, 100));
  }
}
