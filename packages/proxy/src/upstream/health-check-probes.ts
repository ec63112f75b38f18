// One active health check probe against one host: HTTP (core.v3.HealthCheck.HttpHealthCheck)
// or TCP (TcpHealthCheck: connect, optional send, expect every receive payload in order).
import * as http from "node:http";
import * as net from "node:net";

export interface HttpCheckSpec {
  kind: "http";
  /** Host header; Envoy uses the cluster name when `host` is empty. */
  host: string;
  path: string;
  method: string;
  /** [start, end) ranges; Envoy's default is [200, 201). */
  expectedStatuses: Array<[number, number]>;
  retriableStatuses: Array<[number, number]>;
  requestHeaders: Record<string, string>;
  requestHeadersToRemove: string[];
}

export interface TcpCheckSpec {
  kind: "tcp";
  send?: Buffer;
  receive: Buffer[];
}

export interface CheckTarget {
  ip: string;
  port: number;
  pipe?: string;
}

/** `network`: connect failure, reset or timeout (counts towards unhealthy_threshold). `immediate`: an ACTIVE failure Envoy acts on at once. */
export type CheckOutcome = { ok: true } | { ok: false; network: boolean; immediate: boolean };

const inRanges = (status: number, ranges: Array<[number, number]>): boolean => ranges.some(([a, b]) => status >= a && status < b);

/** Starts one HTTP check; `agent` is the session's keep-alive agent (reuse_connection) or false. Returns a cancel function. */
export function runHttpCheck(spec: HttpCheckSpec, t: CheckTarget, timeoutMs: number, agent: http.Agent | false, done: (o: CheckOutcome) => void): () => void {
  let settled = false;
  const settle = (o: CheckOutcome): void => {
    if (settled) return;
    settled = true;
    clearTimeout(timer);
    done(o);
  };
  const headers: Record<string, string> = { host: spec.host, "user-agent": "Envoy/HC", ...spec.requestHeaders };
  for (const n of spec.requestHeadersToRemove) delete headers[n];
  const req = http.request({
    host: t.pipe ? undefined : t.ip,
    port: t.pipe ? undefined : t.port,
    socketPath: t.pipe,
    method: spec.method,
    path: spec.path,
    headers,
    agent,
  });
  const timer = setTimeout(() => {
    req.destroy();
    settle({ ok: false, network: true, immediate: false });
  }, timeoutMs);
  req.on("response", (res) => {
    const status = res.statusCode ?? 0;
    res.resume();
    res.on("end", () => {
      if (inRanges(status, spec.expectedStatuses)) settle({ ok: true });
      else settle({ ok: false, network: false, immediate: !inRanges(status, spec.retriableStatuses) });
    });
    res.on("error", () => settle({ ok: false, network: true, immediate: false }));
  });
  req.on("error", () => settle({ ok: false, network: true, immediate: false }));
  req.end();
  return () => {
    settled = true;
    clearTimeout(timer);
    req.destroy();
  };
}

/** Envoy's TCP matching: each receive payload must appear in the response, in order. */
function matchesInOrder(buf: Buffer, parts: Buffer[]): boolean {
  let from = 0;
  for (const p of parts) {
    const i = buf.indexOf(p, from);
    if (i < 0) return false;
    from = i + p.length;
  }
  return true;
}

/** Starts one TCP check; returns a cancel function. */
export function runTcpCheck(spec: TcpCheckSpec, t: CheckTarget, timeoutMs: number, done: (o: CheckOutcome) => void): () => void {
  let settled = false;
  let received = Buffer.alloc(0);
  const sock = t.pipe ? net.connect(t.pipe) : net.connect({ host: t.ip, port: t.port });
  const settle = (o: CheckOutcome): void => {
    if (settled) return;
    settled = true;
    clearTimeout(timer);
    sock.destroy();
    done(o);
  };
  const timer = setTimeout(() => settle({ ok: false, network: true, immediate: false }), timeoutMs);
  sock.on("connect", () => {
    if (spec.send && spec.send.length > 0) sock.write(spec.send);
    if (spec.receive.length === 0) settle({ ok: true });
  });
  sock.on("data", (d: Buffer) => {
    received = Buffer.concat([received, d]);
    if (matchesInOrder(received, spec.receive)) settle({ ok: true });
  });
  // A peer that closes before sending what we expect has failed the check.
  sock.on("end", () => settle({ ok: false, network: true, immediate: false }));
  sock.on("error", () => settle({ ok: false, network: true, immediate: false }));
  return () => {
    settled = true;
    clearTimeout(timer);
    sock.destroy();
  };
}
