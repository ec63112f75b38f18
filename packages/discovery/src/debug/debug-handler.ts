// The --http-addr endpoints: /ready and istiod's /debug pages (syncz,
// configz, registryz, config_dump), JSON throughout.
import type { IncomingMessage, ServerResponse } from "node:http";
import { TYPE_SHORT_NAME, TypeUrl, toEnvoyJson, type AdsTypeStatus } from "@weft/xds-api";
import { ConfigDumpSchema } from "@weft/xds-api/gen/envoy/admin/v3/config_dump_pb.js";
import type { ConfigCache } from "../cache/config-cache.js";
import type { AdsConnection } from "../server/ads-connection.js";
import type { AdsServer } from "../server/ads-server.js";
import { buildConfigDump } from "./config-dump.js";

export interface DebugHandlerOptions {
  server: AdsServer;
  cache: ConfigCache;
  ready: () => boolean;
  version?: string;
}

function sendJson(res: ServerResponse, status: number, body: unknown): void {
  const text = JSON.stringify(body, null, 2) + "\n";
  res.writeHead(status, { "content-type": "application/json", "content-length": Buffer.byteLength(text) });
  res.end(text);
}

function typeStatusJson(s: AdsTypeStatus, sentAt: number | undefined, resources: number | undefined) {
  return {
    type_url: s.typeUrl,
    subscribed: s.wildcard ? "*" : s.names.length,
    sent_version: s.sentVersion ?? "",
    nonce: s.sentNonce ?? "",
    sent_at: sentAt ? new Date(sentAt).toISOString() : undefined,
    acked_version: s.ackedVersion ?? "",
    // Istio's syncz treats "acked the nonce we sent" as synced; a version lag shows as sent ≠ acked.
    synced: s.sentVersion !== undefined && s.sentVersion === s.ackedVersion,
    resources_sent: resources,
    last_nack: s.lastNack ? { version: s.lastNack.version, nonce: s.lastNack.nonce, error_detail: s.lastNack.message, at: s.lastNack.at.toISOString() } : undefined,
  };
}

/** The resources of the last snapshot sent for a type that the client subscribed to. */
export function sentResources(c: AdsConnection, s: AdsTypeStatus) {
  const snap = c.sent.get(s.typeUrl);
  if (!snap) return [];
  if (s.wildcard) return [...snap.resources.values()];
  return s.names.flatMap((n) => {
    const r = snap.resources.get(n);
    return r ? [r] : [];
  });
}

/** Istio's SyncStatus fields (`<type>_sent` / `<type>_acked` per type), plus per-type detail. */
export function synczJson(conns: readonly AdsConnection[], version: string) {
  const short: Record<string, string> = {
    [TypeUrl.Cluster]: "cluster",
    [TypeUrl.Listener]: "listener",
    [TypeUrl.RouteConfiguration]: "route",
    [TypeUrl.ClusterLoadAssignment]: "endpoint",
  };
  return conns.map((c) => {
    const row: Record<string, unknown> = {
      cluster_id: "Kubernetes",
      proxy: c.proxy.id,
      conn_id: c.id,
      proxy_type: c.proxy.type,
      proxy_version: c.proxy.metadata.ISTIO_VERSION ?? "",
      istio_version: version,
      generator: c.proxy.generator ?? "",
      mode: c.mode,
      connected_at: c.connectedAt.toISOString(),
    };
    const types: Record<string, unknown> = {};
    for (const s of c.status()) {
      const k = short[s.typeUrl];
      if (k) {
        row[`${k}_sent`] = s.sentVersion ?? "";
        row[`${k}_acked`] = s.ackedVersion ?? "";
      }
      types[TYPE_SHORT_NAME[s.typeUrl] ?? s.typeUrl] = typeStatusJson(s, c.sentAt.get(s.typeUrl), sentResources(c, s).length);
    }
    row.types = types;
    return row;
  });
}

function findConnection(conns: readonly AdsConnection[], proxyId: string): AdsConnection | undefined {
  // Istio accepts the full node id, the connection id, or `pod.namespace`.
  return conns.find((c) => c.proxy.id === proxyId || c.id === proxyId || c.proxy.podName === proxyId);
}

export function createDebugHandler(options: DebugHandlerOptions): (req: IncomingMessage, res: ServerResponse) => void {
  const version = options.version ?? "unknown";
  return (req, res) => {
    const url = new URL(req.url ?? "/", "http://localhost");
    if (req.method !== "GET" && req.method !== "HEAD") return sendJson(res, 405, { error: `method ${req.method} not allowed; use GET` });
    switch (url.pathname) {
      case "/ready":
        if (options.ready()) {
          res.writeHead(200, { "content-type": "text/plain" });
          return res.end("ready\n");
        }
        res.writeHead(503, { "content-type": "text/plain" });
        return res.end("not ready: the first config has not been loaded\n");
      case "/debug/syncz":
        return sendJson(res, 200, synczJson(options.server.connections(), version));
      case "/debug/configz": {
        const push = options.cache.current();
        if (!push) return sendJson(res, 503, { error: "no config loaded yet" });
        return sendJson(res, 200, { version: push.version, config: push.configJson(), errors: push.errors });
      }
      case "/debug/registryz": {
        const push = options.cache.current();
        if (!push) return sendJson(res, 503, { error: "no config loaded yet" });
        return sendJson(res, 200, push.registryJson());
      }
      case "/debug/config_dump": {
        const proxyId = url.searchParams.get("proxyID");
        if (!proxyId) return sendJson(res, 400, { error: "missing query parameter proxyID (node id, connection id or pod.namespace); see /debug/syncz" });
        const conn = findConnection(options.server.connections(), proxyId);
        if (!conn) return sendJson(res, 404, { error: `no connected proxy ${JSON.stringify(proxyId)}; see /debug/syncz` });
        return sendJson(res, 200, toEnvoyJson(ConfigDumpSchema, buildConfigDump(conn)));
      }
      case "/debug":
      case "/debug/":
        return sendJson(res, 200, { endpoints: ["/ready", "/debug/syncz", "/debug/configz", "/debug/registryz", "/debug/config_dump?proxyID="] });
      default:
        return sendJson(res, 404, { error: `no such endpoint ${url.pathname}; see /debug` });
    }
  };
}
