import { execFile } from "node:child_process";
import { connect } from "node:net";

/** One HTTP GET; true on a 2xx. Never throws. */
export async function httpOk(url: string, timeoutMs = 1000): Promise<boolean> {
  try {
    const res = await fetch(url, { signal: AbortSignal.timeout(timeoutMs) });
    await res.arrayBuffer();
    return res.ok;
  } catch {
    return false;
  }
}

/**
 * Whether the app behind host:port answers. Through a sidecar, a TCP connect
 * always succeeds (inbound capture lands on 15006), so this asks over HTTP
 * and treats the sidecar's own 503 (no app behind it) as "not yet". An answer
 * that is not HTTP at all (a plain TCP app such as tcp-echo, relayed by the
 * sidecar's tcp_proxy) is "not-http": the caller checks the port directly.
 */
export async function appAnswers(host: string, port: number, timeoutMs = 1000): Promise<"yes" | "no" | "not-http"> {
  try {
    const res = await fetch(`http://${host}:${port}/`, { signal: AbortSignal.timeout(timeoutMs), redirect: "manual" });
    await res.arrayBuffer();
    return res.status !== 503 ? "yes" : "no";
  } catch (error) {
    // llhttp refusing the bytes (HPE_*): something answered, in another protocol. A connection
    // closed without an answer (the sidecar's tcp_proxy finding no app) is checked directly too.
    const code = (error as { cause?: { code?: string } }).cause?.code ?? "";
    return code.startsWith("HPE_") || code === "UND_ERR_SOCKET" ? "not-http" : "no";
  }
}

/**
 * Whether the app accepts connections on its port inside its network namespace (where
 * 127.0.0.1 is not captured by the sidecar's rules): a plain TCP app's readiness.
 */
export function netnsTcpOpen(netns: string, port: number, timeoutMs = 2000): Promise<boolean> {
  return new Promise((resolve) => {
    execFile("ip", ["netns", "exec", netns, "bash", "-c", `exec 3<>/dev/tcp/127.0.0.1/${port}`], { timeout: timeoutMs }, (error) => resolve(!error));
  });
}

/** Whether something accepts TCP connections at host:port. Never throws. */
export function tcpOpen(host: string, port: number, timeoutMs = 500): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connect({ host, port });
    const done = (ok: boolean) => {
      socket.destroy();
      resolve(ok);
    };
    socket.setTimeout(timeoutMs, () => done(false));
    socket.once("connect", () => done(true));
    socket.once("error", () => done(false));
  });
}

/** Polls `check` until it is true or `timeoutMs` passes; returns whether it became true. */
export async function waitFor(check: () => Promise<boolean>, timeoutMs: number, intervalMs = 200): Promise<boolean> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (await check()) return true;
    if (Date.now() >= deadline) return false;
    await new Promise((r) => setTimeout(r, intervalMs));
  }
}
