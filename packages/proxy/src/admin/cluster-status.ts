import { create } from "@bufbuild/protobuf";
import { toEnvoyJson } from "@weft/xds-api";
import { ClustersSchema, HostHealthStatusSchema, HostStatusSchema } from "@weft/xds-api/gen/envoy/admin/v3/clusters_pb";
import { SimpleMetric_Type } from "@weft/xds-api/gen/envoy/admin/v3/metrics_pb";
import { HealthStatus } from "@weft/xds-api/gen/envoy/config/core/v3/health_check_pb";
import { ListenersSchema } from "@weft/xds-api/gen/envoy/admin/v3/listeners_pb";
import type { JsonValue } from "@bufbuild/protobuf";
import type { ProxyRuntime } from "../contracts.js";

// Host stats Envoy reports as gauges; the rest are counters.
const HOST_GAUGES = new Set(["cx_active", "rq_active"]);

function splitAddress(address: string): { host: string; port: number } {
  const m = /^\[?(.*?)\]?:(\d+)$/.exec(address);
  return m ? { host: m[1]!, port: Number(m[2]) } : { host: address, port: 0 };
}

/** Envoy's /clusters text: `cluster::host::stat::value` lines, circuit breakers and health flags included. */
export function renderClustersText(runtime: Pick<ProxyRuntime, "clusterStatus">): string {
  let out = "";
  for (const cluster of runtime.clusterStatus()) {
    const name = cluster.name;
    out += `${name}::observability_name::${name}\n`;
    for (const [key, value] of Object.entries(cluster.circuitBreakers ?? {})) out += `${name}::${key}::${value}\n`;
    for (const host of cluster.hosts) {
      const prefix = `${name}::${host.address}`;
      for (const [stat, value] of Object.entries(host.stats).sort((a, b) => (a[0] < b[0] ? -1 : 1))) out += `${prefix}::${stat}::${value}\n`;
      out += `${prefix}::hostname::\n`;
      out += `${prefix}::health_flags::${host.healthy && host.healthFlags.length === 0 ? "healthy" : host.healthFlags.join("") || "/failed_eds_health"}\n`;
      out += `${prefix}::weight::${host.weight}\n`;
      out += `${prefix}::region::${host.locality?.region ?? ""}\n`;
      out += `${prefix}::zone::${host.locality?.zone ?? ""}\n`;
      out += `${prefix}::sub_zone::${host.locality?.subZone ?? ""}\n`;
      out += `${prefix}::canary::false\n`;
      out += `${prefix}::priority::0\n`;
      out += `${prefix}::success_rate::-1\n`;
      out += `${prefix}::local_origin_success_rate::-1\n`;
    }
  }
  return out;
}

/** /clusters?format=json: envoy.admin.v3.Clusters. */
export function renderClustersJson(runtime: Pick<ProxyRuntime, "clusterStatus">, staticNames: ReadonlySet<string>): JsonValue {
  const msg = create(ClustersSchema, {
    clusterStatuses: runtime.clusterStatus().map((c) => ({
      name: c.name,
      observabilityName: c.name,
      addedViaApi: !staticNames.has(c.name),
      hostStatuses: c.hosts.map((h) => {
        const { host, port } = splitAddress(h.address);
        const flags = new Set(h.healthFlags);
        return create(HostStatusSchema, {
          address: { address: { case: "socketAddress", value: { address: host, portSpecifier: { case: "portValue", value: port } } } },
          stats: Object.entries(h.stats).map(([name, value]) => ({
            name,
            value: BigInt(Math.max(0, Math.floor(value))),
            type: HOST_GAUGES.has(name) ? SimpleMetric_Type.GAUGE : SimpleMetric_Type.COUNTER,
          })),
          healthStatus: create(HostHealthStatusSchema, {
            failedActiveHealthCheck: flags.has("/failed_active_hc"),
            failedOutlierCheck: flags.has("/failed_outlier_check"),
            edsHealthStatus: flags.has("/failed_eds_health") || !h.healthy ? HealthStatus.UNHEALTHY : HealthStatus.HEALTHY,
          }),
          weight: h.weight,
          locality: h.locality ? { region: h.locality.region ?? "", zone: h.locality.zone ?? "", subZone: h.locality.subZone ?? "" } : undefined,
        });
      }),
    })),
  });
  return toEnvoyJson(ClustersSchema, msg);
}

/** /listeners text (`name::address`) and JSON (envoy.admin.v3.Listeners). */
export function renderListenersText(runtime: Pick<ProxyRuntime, "listenerAddresses">): string {
  return runtime
    .listenerAddresses()
    .map((l) => `${l.name}::${l.address}\n`)
    .join("");
}

export function renderListenersJson(runtime: Pick<ProxyRuntime, "listenerAddresses">): JsonValue {
  const msg = create(ListenersSchema, {
    listenerStatuses: runtime.listenerAddresses().map((l) => {
      const { host, port } = splitAddress(l.address);
      return {
        name: l.name,
        localAddress: { address: { case: "socketAddress" as const, value: { address: host, portSpecifier: { case: "portValue" as const, value: port } } } },
      };
    }),
  });
  return toEnvoyJson(ListenersSchema, msg);
}
