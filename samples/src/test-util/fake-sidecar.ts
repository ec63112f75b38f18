import http from "node:http";
import { startOnLoopback, type Recorded } from "./http-client.js";

export interface SidecarRule {
  /** Answer with this status instead of forwarding (an abort fault). */
  abort?: number;
  /** Hold the request this long before forwarding (a delay fault). */
  delayMs?: number;
}

/**
 * A stand-in for the local mesh's explicit-mode sidecar: an HTTP forward proxy
 * that receives absolute-form requests (`GET http://reviews:9080/reviews/0`),
 * routes them by service name to a real process, and can inject the faults the
 * Bookinfo VirtualServices configure. It records what each service was sent.
 */
export async function startFakeSidecar(): Promise<{
  url: string;
  routes: Map<string, string>;
  seen: Map<string, Recorded[]>;
  setFault: (f: (req: http.IncomingMessage, service: string) => SidecarRule | undefined) => void;
  stop: () => Promise<void>;
}> {
  const routes = new Map<string, string>();
  const seen = new Map<string, Recorded[]>();
  let fault: (req: http.IncomingMessage, service: string) => SidecarRule | undefined = () => undefined;
  const server = http.createServer((req, res) => {
    const raw = req.url ?? "/";
    const authority = /^http:\/\//.test(raw) ? new URL(raw).host : (req.headers.host ?? "");
    const service = authority.split(":")[0]!;
    const path = /^http:\/\//.test(raw) ? `${new URL(raw).pathname}${new URL(raw).search}` : raw;
    const list = seen.get(service) ?? [];
    list.push({ method: req.method ?? "", url: raw, headers: req.headers });
    seen.set(service, list);
    const target = routes.get(service);
    if (!target) {
      res.writeHead(404);
      res.end();
      return;
    }
    const rule = fault(req, service);
    if (rule?.abort) {
      res.writeHead(rule.abort, { "content-type": "text/plain" });
      res.end("fault filter abort");
      return;
    }
    const forward = (): void => {
      const t = new URL(target);
      const up = http.request({ host: t.hostname, port: t.port, path, method: req.method, headers: req.headers, agent: false }, (ur) => {
        res.writeHead(ur.statusCode ?? 502, ur.headers);
        ur.pipe(res);
      });
      up.on("error", () => {
        if (!res.headersSent) res.writeHead(503);
        res.end();
      });
      req.pipe(up);
    };
    if (rule?.delayMs) {
      const timer = setTimeout(forward, rule.delayMs);
      res.once("close", () => clearTimeout(timer));
    } else forward();
  });
  const started = await startOnLoopback(server);
  return {
    url: started.url,
    routes,
    seen,
    setFault: (f) => {
      fault = f;
    },
    stop: started.stop,
  };
}
