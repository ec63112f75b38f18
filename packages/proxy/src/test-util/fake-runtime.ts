import type { Any } from "@bufbuild/protobuf/wkt";
import { TypeUrl, unpackAny } from "@weft/xds-api";
import type { Bootstrap } from "@weft/xds-api/gen/envoy/config/bootstrap/v3/bootstrap_pb";
import { Cluster_DiscoveryType, ClusterSchema } from "@weft/xds-api/gen/envoy/config/cluster/v3/cluster_pb";
import { ListenerSchema } from "@weft/xds-api/gen/envoy/config/listener/v3/listener_pb";
import { HttpConnectionManagerSchema } from "@weft/xds-api/gen/envoy/extensions/filters/network/http_connection_manager/v3/http_connection_manager_pb";
import { packAny } from "@weft/xds-api";
import {
  ResourceRejectedError,
  type ClusterHostStatus,
  type DumpEntry,
  type ProxyRuntime,
  type ResourceUpdate,
} from "../contracts.js";

type Kind = "listeners" | "clusters" | "routes" | "endpoints" | "secrets";

const KIND: Record<string, Kind> = {
  [TypeUrl.Listener]: "listeners",
  [TypeUrl.Cluster]: "clusters",
  [TypeUrl.RouteConfiguration]: "routes",
  [TypeUrl.ClusterLoadAssignment]: "endpoints",
  [TypeUrl.Secret]: "secrets",
};

/**
 * A ProxyRuntime with no data path: it keeps what it is given, rejects
 * clusters whose connect_timeout is negative (as the real compiler must) and
 * derives EDS/RDS subscriptions from the resources, like the real one.
 */
export class FakeRuntime implements ProxyRuntime {
  readonly applied: string[] = [];
  readonly state: Record<Kind, Map<string, DumpEntry>> = {
    listeners: new Map(),
    clusters: new Map(),
    routes: new Map(),
    endpoints: new Map(),
    secrets: new Map(),
  };
  drained: Array<{ inboundOnly?: boolean; graceful?: boolean }> = [];
  closed = false;
  private ready = false;
  private readyListeners: Array<() => void> = [];
  connections = 0;
  hosts: ReturnType<ProxyRuntime["clusterStatus"]> = [];

  async applyBootstrap(bootstrap: Bootstrap): Promise<void> {
    for (const c of bootstrap.staticResources?.clusters ?? []) {
      this.state.clusters.set(c.name, { name: c.name, version: "", lastUpdated: new Date(), resource: packAny(ClusterSchema, c), state: "static" });
    }
    bootstrap.staticResources?.listeners.forEach((l, i) => {
      const name = l.name || `listener_${i}`;
      this.state.listeners.set(name, { name, version: "", lastUpdated: new Date(), resource: packAny(ListenerSchema, l), state: "static" });
    });
  }

  async check(update: ResourceUpdate): Promise<void> {
    for (const r of update.resources) this.validate(update.typeUrl, r.name, r.resource);
  }

  async apply(update: ResourceUpdate): Promise<void> {
    const kind = KIND[update.typeUrl];
    if (!kind) throw new ResourceRejectedError("", "type_url", `unsupported type ${update.typeUrl}`);
    for (const r of update.resources) this.validate(update.typeUrl, r.name, r.resource);
    this.applied.push(`${kind}@${update.version}`);
    const map = this.state[kind];
    for (const name of update.removed) if (map.get(name)?.state !== "static") map.delete(name);
    for (const r of update.resources) map.set(r.name, { name: r.name, version: r.version, lastUpdated: new Date(), resource: r.resource, state: "active" });
  }

  private validate(typeUrl: string, name: string, resource: Any): void {
    if (typeUrl !== TypeUrl.Cluster) return;
    const c = unpackAny(resource, ClusterSchema);
    // Stands in for the data path's own compile errors (PGV passes these).
    if (name.startsWith("reject-")) throw new ResourceRejectedError(name, "lb_policy", "not supported by this runtime");
    if (c.connectTimeout && (c.connectTimeout.seconds < 0n || c.connectTimeout.nanos < 0)) {
      throw new ResourceRejectedError(name, "connect_timeout", "must be a non-negative duration");
    }
  }

  subscriptions() {
    const eds: string[] = [];
    for (const e of this.state.clusters.values()) {
      const c = unpackAny(e.resource, ClusterSchema);
      if (c.clusterDiscoveryType.case === "type" && c.clusterDiscoveryType.value === Cluster_DiscoveryType.EDS) {
        eds.push(c.edsClusterConfig?.serviceName || c.name);
      }
    }
    const rds = new Set<string>();
    for (const e of this.state.listeners.values()) {
      const l = unpackAny(e.resource, ListenerSchema);
      for (const chain of l.filterChains) {
        for (const f of chain.filters) {
          if (f.configType.case !== "typedConfig" || !f.configType.value.typeUrl.endsWith("HttpConnectionManager")) continue;
          const hcm = unpackAny(f.configType.value, HttpConnectionManagerSchema);
          if (hcm.routeSpecifier.case === "rds") rds.add(hcm.routeSpecifier.value.routeConfigName);
        }
      }
    }
    return { eds: eds.sort(), rds: [...rds].sort(), sds: [] };
  }

  initialized(): boolean {
    return this.ready;
  }
  onInitialized(listener: () => void): void {
    if (this.ready) listener();
    else this.readyListeners.push(listener);
  }
  markInitialized(): void {
    this.ready = true;
    for (const l of this.readyListeners.splice(0)) l();
  }

  dump() {
    return {
      listeners: [...this.state.listeners.values()],
      clusters: [...this.state.clusters.values()],
      routes: [...this.state.routes.values()],
      endpoints: [...this.state.endpoints.values()],
      secrets: [...this.state.secrets.values()],
    };
  }

  clusterStatus() {
    return this.hosts;
  }
  listenerAddresses() {
    return [...this.state.listeners.keys()].map((name) => ({ name, address: "0.0.0.0:15001" }));
  }
  async drainListeners(options?: { inboundOnly?: boolean; graceful?: boolean }): Promise<void> {
    this.drained.push(options ?? {});
  }
  activeConnections(): number {
    return this.connections;
  }
  async close(): Promise<void> {
    this.closed = true;
  }
}

export type { ClusterHostStatus };
