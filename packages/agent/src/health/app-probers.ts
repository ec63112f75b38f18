import { request } from "node:http";
import { request as requestTls } from "node:https";
import { connect, isIP } from "node:net";
import { AgentError } from "../errors.js";
import { runGrpcProbe } from "./grpc-health-probe.js";

/** One Kubernetes probe as the injector serializes it into ISTIO_KUBE_APP_PROBERS. */
export interface AppProber {
  httpGet?: { path?: string; port: number | string; host?: string; scheme?: string; httpHeaders?: Array<{ name: string; value: string }> };
  tcpSocket?: { port: number | string; host?: string };
  grpc?: { port: number; service?: string };
  timeoutSeconds?: number;
}

export type AppProbers = Map<string, AppProber>;

const PROBE_PATH = /^\/app-health\/[^/]+\/(livez|readyz|startupz)$/;

/** Parses `{"/app-health/httpbin/livez":{"httpGet":{"path":"/","port":80,"scheme":"HTTP"},"timeoutSeconds":1}}`. */
export function parseAppProbers(json: string | undefined): AppProbers {
  const out: AppProbers = new Map();
  if (!json?.trim()) return out;
  let raw: unknown;
  try {
    raw = JSON.parse(json);
  } catch (err) {
    throw new AgentError("invalid_prober", `ISTIO_KUBE_APP_PROBERS is not JSON: ${(err as Error).message}`);
  }
  if (typeof raw !== "object" || raw === null || Array.isArray(raw)) throw new AgentError("invalid_prober", "ISTIO_KUBE_APP_PROBERS must be an object of path → probe");
  for (const [path, p] of Object.entries(raw as Record<string, AppProber>)) {
    if (!PROBE_PATH.test(path)) throw new AgentError("invalid_prober", `ISTIO_KUBE_APP_PROBERS: "${path}" is not /app-health/<container>/livez|readyz|startupz`);
    const kinds = [p?.httpGet, p?.tcpSocket, p?.grpc].filter(Boolean).length;
    if (kinds !== 1) throw new AgentError("invalid_prober", `ISTIO_KUBE_APP_PROBERS["${path}"]: exactly one of httpGet, tcpSocket, grpc is required`);
    const port = Number((p.httpGet ?? p.tcpSocket ?? p.grpc)!.port);
    if (!Number.isInteger(port) || port < 1 || port > 65535) {
      throw new AgentError("invalid_prober", `ISTIO_KUBE_APP_PROBERS["${path}"]: port ${JSON.stringify((p.httpGet ?? p.tcpSocket ?? p.grpc)!.port)} is not a number (named ports must be resolved by the injector)`);
    }
    out.set(path, p);
  }
  return out;
}

export interface ProbeResult {
  status: number;
  detail: string;
}

/**
 * Runs one probe against the app. Like Istio, a probe to the pod IP leaves from 127.0.0.6
 * so that the capture rules (`-s 127.0.0.6/32 -o lo -j RETURN`) let it reach the app directly.
 */
export function runProbe(p: AppProber, defaultHost: string): Promise<ProbeResult> {
  const timeoutMs = (p.timeoutSeconds && p.timeoutSeconds > 0 ? p.timeoutSeconds : 1) * 1000;
  const host = (p.httpGet ?? p.tcpSocket)?.host || defaultHost;
  const localAddress = isIP(host) === 4 && !host.startsWith("127.") ? "127.0.0.6" : undefined;
  if (p.grpc) return runGrpcProbe(host, Number(p.grpc.port), p.grpc.service ?? "", timeoutMs, localAddress);
  if (p.tcpSocket) {
    return new Promise((resolve) => {
      const s = connect({ host, port: Number(p.tcpSocket!.port), localAddress, timeout: timeoutMs });
      s.on("connect", () => {
        s.destroy();
        resolve({ status: 200, detail: "connected" });
      });
      s.on("timeout", () => {
        s.destroy();
        resolve({ status: 500, detail: `tcp ${host}:${p.tcpSocket!.port}: timeout` });
      });
      s.on("error", (e) => resolve({ status: 500, detail: `tcp ${host}:${p.tcpSocket!.port}: ${e.message}` }));
    });
  }
  const g = p.httpGet!;
  const https = (g.scheme ?? "HTTP").toUpperCase() === "HTTPS";
  const headers: Record<string, string> = { "user-agent": "kube-probe/1.28" };
  for (const h of g.httpHeaders ?? []) headers[h.name.toLowerCase()] = h.value;
  return new Promise((resolve) => {
    const req = (https ? requestTls : request)(
      { host, port: Number(g.port), path: g.path || "/", method: "GET", headers, localAddress, timeout: timeoutMs, ...(https ? { rejectUnauthorized: false } : {}) },
      (res) => {
        res.resume();
        const code = res.statusCode ?? 500;
        // Kubernetes counts 200–399 as success; Istio answers 200 then, else the app's status.
        resolve(code >= 200 && code < 400 ? { status: 200, detail: `app answered ${code}` } : { status: code, detail: `app answered ${code}` });
      },
    );
    req.on("timeout", () => req.destroy(new Error("timeout")));
    req.on("error", (e) => resolve({ status: 500, detail: `http ${host}:${g.port}${g.path ?? "/"}: ${e.message}` }));
    req.end();
  });
}
