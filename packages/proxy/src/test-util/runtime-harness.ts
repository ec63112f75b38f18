// Builds a ProxyRuntime from an Envoy-JSON static bootstrap with fake stats,
// a capturing access logger and a silent logger.
import { pino } from "pino";
import { fromEnvoyJson } from "@weft/xds-api";
import { BootstrapSchema } from "@weft/xds-api/gen/envoy/config/bootstrap/v3/bootstrap_pb.js";
import { createProxyRuntime, type WeftProxyRuntime } from "../runtime/create-proxy-runtime.js";
import { captureAccessLogs, type CapturedLogs } from "./capture-access-log.js";
import { createFakeStats, type FakeStats } from "./fake-stats.js";

export interface Harness {
  runtime: WeftProxyRuntime;
  stats: FakeStats;
  logs: CapturedLogs;
  reports: Array<{ field: string; detail?: string }>;
  port(listener: string): number;
  close(): Promise<void>;
}

export const ACCESS_LOG = [{ name: "capture", typed_config: { "@type": "type.googleapis.com/envoy.extensions.access_loggers.stream.v3.StdoutAccessLog" } }];

/** `rateLimitBuckets`: a shared local_ratelimit bucket table, as each worker thread of one proxy gets. */
export async function startRuntime(staticResources: unknown, opts: { random?: () => number; rateLimitBuckets?: SharedArrayBuffer } = {}): Promise<Harness> {
  const stats = createFakeStats();
  const logs = captureAccessLogs();
  const reports: Harness["reports"] = [];
  const runtime = createProxyRuntime({
    stats,
    accessLogs: logs.factory,
    logger: pino({ level: process.env.WEFT_TEST_LOG ?? "silent" }),
    nodeId: "sidecar~127.0.0.1~test.default~default.svc.cluster.local",
    reportUnsupported: (field, detail) => void reports.push({ field, detail }),
    random: opts.random,
    rateLimitBuckets: opts.rateLimitBuckets,
  });
  const bootstrap = fromEnvoyJson(BootstrapSchema, { static_resources: staticResources } as never);
  await runtime.applyBootstrap(bootstrap);
  return {
    runtime,
    stats,
    logs,
    reports,
    port(name) {
      const p = runtime.boundPort(name);
      if (p === undefined) throw new Error(`listener ${name} is not bound`);
      return p;
    },
    close: () => runtime.close(),
  };
}

/** A static cluster on loopback. */
export function staticCluster(name: string, ports: number[], extra: Record<string, unknown> = {}): Record<string, unknown> {
  return {
    name,
    type: "STATIC",
    connect_timeout: "1s",
    load_assignment: {
      cluster_name: name,
      endpoints: [{ lb_endpoints: ports.map((p) => ({ endpoint: { address: { socket_address: { address: "127.0.0.1", port_value: p } } } })) }],
    },
    ...extra,
  };
}

/** An HTTP listener on 127.0.0.1:0 with an inline route config. */
export function httpListener(name: string, virtualHosts: unknown[], hcmExtra: Record<string, unknown> = {}, port = 0): Record<string, unknown> {
  return {
    name,
    address: { socket_address: { address: "127.0.0.1", port_value: port } },
    filter_chains: [
      {
        filters: [
          {
            name: "envoy.filters.network.http_connection_manager",
            typed_config: {
              "@type": "type.googleapis.com/envoy.extensions.filters.network.http_connection_manager.v3.HttpConnectionManager",
              stat_prefix: name,
              route_config: { name: `${name}-routes`, virtual_hosts: virtualHosts },
              http_filters: [{ name: "envoy.filters.http.router", typed_config: { "@type": "type.googleapis.com/envoy.extensions.filters.http.router.v3.Router" } }],
              access_log: ACCESS_LOG,
              ...hcmExtra,
            },
          },
        ],
      },
    ],
  };
}
