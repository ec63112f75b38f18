import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import type { Logger } from "pino";
import { runProbe, type AppProbers } from "./app-probers.js";
import { requestText } from "../http/request-text.js";
import { mergeExpositions, type AppScrapeTarget } from "./metrics-merge.js";

export interface ReadinessReport {
  ready: boolean;
  reason: string;
}

export interface StatusServerOptions {
  host: string;
  port: number;
  log: Logger;
  readiness(): Promise<ReadinessReport>;
  /** Prometheus text of the proxy (its 15090 listener); throws when the proxy is not up. */
  proxyMetrics(): Promise<string>;
  agentMetrics(): string;
  appScrape?: AppScrapeTarget;
  appHost: string;
  probers: AppProbers;
  /** POST /quitquitquit: end the sidecar (Jobs). */
  onQuit(): void;
}

export interface StatusServer {
  readonly port: number;
  close(): Promise<void>;
}

const LOOPBACK = /^(127\.|::1$|::ffff:127\.)/;

async function fetchText(url: string, timeoutMs = 2000): Promise<string> {
  const res = await requestText(url, { timeoutMs });
  if (res.status < 200 || res.status > 299) throw new Error(`${url}: HTTP ${res.status}`);
  return res.body;
}

/** The agent's status port (15020): readiness, merged metrics, app probes, quitquitquit. */
export async function createStatusServer(o: StatusServerOptions): Promise<StatusServer> {
  const handle = async (req: IncomingMessage, res: ServerResponse) => {
    const url = new URL(req.url ?? "/", "http://localhost");
    const path = url.pathname;
    if (path === "/healthz/ready" && (req.method === "GET" || req.method === "HEAD")) {
      const r = await o.readiness();
      res.writeHead(r.ready ? 200 : 503, { "content-type": "text/plain" });
      res.end(r.ready ? "" : `${r.reason}\n`);
      return;
    }
    if (path === "/stats/prometheus" && req.method === "GET") {
      const parts: string[] = [];
      try {
        parts.push(await o.proxyMetrics());
      } catch (err) {
        o.log.debug({ err: (err as Error).message }, "proxy metrics unavailable");
      }
      if (o.appScrape) {
        try {
          parts.push(await fetchText(`http://${o.appHost.includes(":") ? `[${o.appHost}]` : o.appHost}:${o.appScrape.port}${o.appScrape.path}`));
        } catch (err) {
          o.log.debug({ err: (err as Error).message }, "app metrics unavailable");
        }
      }
      parts.push(o.agentMetrics());
      res.writeHead(200, { "content-type": "text/plain; version=0.0.4; charset=utf-8" });
      res.end(mergeExpositions(parts));
      return;
    }
    if (path.startsWith("/app-health/")) {
      const prober = o.probers.get(path);
      if (!prober) {
        res.writeHead(404, { "content-type": "text/plain" });
        res.end(`no probe configured for ${path}\n`);
        return;
      }
      const r = await runProbe(prober, o.appHost);
      if (r.status !== 200) o.log.debug({ path, detail: r.detail }, "app probe failed");
      res.writeHead(r.status, { "content-type": "text/plain" });
      res.end(r.status === 200 ? "" : `${r.detail}\n`);
      return;
    }
    if (path === "/quitquitquit") {
      if (req.method !== "POST") {
        res.writeHead(405, { allow: "POST" });
        res.end();
        return;
      }
      // Like Istio, only a caller inside the pod may stop the sidecar.
      if (!LOOPBACK.test(req.socket.remoteAddress ?? "") && req.socket.remoteAddress !== req.socket.localAddress) {
        res.writeHead(403, { "content-type": "text/plain" });
        res.end("quitquitquit is only allowed from inside the pod\n");
        return;
      }
      res.writeHead(200, { "content-type": "text/plain" });
      res.end("OK\n");
      o.onQuit();
      return;
    }
    res.writeHead(404, { "content-type": "text/plain" });
    res.end("not found\n");
  };

  const server: Server = createServer((req, res) => {
    handle(req, res).catch((err) => {
      o.log.warn({ err: (err as Error).message, url: req.url }, "status request failed");
      if (!res.headersSent) res.writeHead(500);
      res.end();
    });
  });
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(o.port, o.host, () => resolve());
  });
  const port = (server.address() as AddressInfo).port;
  o.log.info({ address: `${o.host}:${port}` }, "status server listening");
  return {
    port,
    close: () =>
      new Promise((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

export { fetchText };
