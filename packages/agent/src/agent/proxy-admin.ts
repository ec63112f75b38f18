import { requestText } from "../http/request-text.js";

/** The bits of the proxy's admin API (Envoy's, which weft-proxy mirrors) the agent uses. */
export interface ProxyAdmin {
  /** GET /ready: true when it answers 200 `LIVE`. */
  isLive(): Promise<boolean>;
  /** POST /drain_listeners?inboundonly&graceful (what pilot-agent sends on SIGTERM). */
  drainInbound(): Promise<void>;
  /** Active downstream connections: server.total_connections, else the sum of listener downstream_cx_active. */
  activeConnections(): Promise<number | undefined>;
  quit(): Promise<void>;
  prometheus(): Promise<string>;
}

export function createProxyAdmin(adminBase: string, prometheusBase: string, timeoutMs = 1000): ProxyAdmin {
  const call = (path: string, method = "GET") => requestText(`${adminBase}${path}`, { method, timeoutMs });
  return {
    async isLive() {
      try {
        const r = await call("/ready");
        return r.status === 200 && r.body.trim() === "LIVE";
      } catch {
        return false;
      }
    },
    async drainInbound() {
      await call("/drain_listeners?inboundonly&graceful", "POST");
    },
    async activeConnections() {
      try {
        const r = await call("/stats");
        if (r.status !== 200) return undefined;
        let total: number | undefined;
        let listenerSum = 0;
        let sawListener = false;
        for (const line of r.body.split("\n")) {
          const m = /^([^:]+):\s*(\d+)\s*$/.exec(line);
          if (!m) continue;
          if (m[1] === "server.total_connections") total = Number(m[2]);
          else if (/^listener\..+\.downstream_cx_active$/.test(m[1]) && !m[1].startsWith("listener.admin.")) {
            sawListener = true;
            listenerSum += Number(m[2]);
          }
        }
        return total ?? (sawListener ? listenerSum : undefined);
      } catch {
        return undefined;
      }
    },
    async quit() {
      await call("/quitquitquit", "POST").catch(() => undefined);
    },
    async prometheus() {
      const res = await requestText(`${prometheusBase}/stats/prometheus`, { timeoutMs: 2000 });
      if (res.status < 200 || res.status > 299) throw new Error(`proxy /stats/prometheus: HTTP ${res.status}`);
      return res.body;
    },
  };
}
