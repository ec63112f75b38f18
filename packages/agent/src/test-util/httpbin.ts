import { spawn, type ChildProcess } from "node:child_process";
import { existsSync } from "node:fs";
import { createServer } from "node:net";

/** Debian's python3-httpbin, a real HTTP app for probe tests; undefined when it is not installed. */
export const HTTPBIN_PYTHON = existsSync("/usr/lib/python3/dist-packages/httpbin/__init__.py") ? "/usr/bin/python3" : undefined;

// Ports are handed out below Linux's ephemeral range (32768–60999 by default): a port from listen(0)
// comes from that range, and between our probe closing it and the agent's child binding it seconds
// later, any outgoing connection of a test running alongside could take it (seen in CI: the fake
// proxy died on EADDRINUSE and restarted until the test timed out).
const LOW_PORT = 20_000;
const LOW_PORT_SPAN = 12_000;
const handedOut = new Set<number>();

function bindable(port: number, host: string): Promise<boolean> {
  return new Promise((resolve) => {
    const s = createServer();
    s.once("error", () => resolve(false));
    s.listen(port, host, () => s.close(() => resolve(true)));
  });
}

/** A port nothing listens on, not handed out before by this process, outside the ephemeral range. */
export async function freePort(host = "127.0.0.1"): Promise<number> {
  for (let attempt = 0; attempt < 200; attempt++) {
    const port = LOW_PORT + Math.floor(Math.random() * LOW_PORT_SPAN);
    if (handedOut.has(port)) continue;
    if (await bindable(port, host)) {
      handedOut.add(port);
      return port;
    }
  }
  throw new Error(`no free port in ${LOW_PORT}..${LOW_PORT + LOW_PORT_SPAN - 1} after 200 attempts`);
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
