import { create, type MessageInitShape } from "@bufbuild/protobuf";
import { packAny } from "@weft/xds-api";
import { ClusterSchema, type Cluster } from "@weft/xds-api/gen/envoy/config/cluster/v3/cluster_pb";
import { Cluster_DiscoveryType, Cluster_DnsLookupFamily, Cluster_LbPolicy } from "@weft/xds-api/gen/envoy/config/cluster/v3/cluster_pb";
import type { ListenerSchema } from "@weft/xds-api/gen/envoy/config/listener/v3/listener_pb";
import type { AddressSchema } from "@weft/xds-api/gen/envoy/config/core/v3/address_pb";
import { SocketAddress_Protocol } from "@weft/xds-api/gen/envoy/config/core/v3/address_pb";
import { RoutingPriority } from "@weft/xds-api/gen/envoy/config/core/v3/base_pb";
import {
  HttpConnectionManager_CodecType,
  HttpConnectionManagerSchema,
} from "@weft/xds-api/gen/envoy/extensions/filters/network/http_connection_manager/v3/http_connection_manager_pb";
import { RouterSchema } from "@weft/xds-api/gen/envoy/extensions/filters/http/router/v3/router_pb";
import type { AgentEnv } from "../env/agent-env.js";

type ClusterInit = MessageInitShape<typeof ClusterSchema>;

type ListenerInit = MessageInitShape<typeof ListenerSchema>;

const ms = (n: number) => ({ seconds: BigInt(Math.floor(n / 1000)), nanos: (n % 1000) * 1_000_000 });

function tcp(address: string, port: number, protocol = true): MessageInitShape<typeof AddressSchema> {
  return {
    address: {
      case: "socketAddress",
      value: { ...(protocol ? { protocol: SocketAddress_Protocol.TCP } : {}), address, portSpecifier: { case: "portValue", value: port } },
    },
  };
}

function pipe(path: string): MessageInitShape<typeof AddressSchema> {
  return { address: { case: "pipe", value: { path } } };
}

function staticCluster(name: string, address: MessageInitShape<typeof AddressSchema>, connectTimeoutMs: number, extra: Partial<Omit<Cluster, "$typeName">> | Record<string, unknown> = {}): Cluster {
  return create(ClusterSchema, {
    name,
    clusterDiscoveryType: { case: "type", value: Cluster_DiscoveryType.STATIC },
    connectTimeout: ms(connectTimeoutMs),
    lbPolicy: Cluster_LbPolicy.ROUND_ROBIN,
    loadAssignment: { clusterName: name, endpoints: [{ lbEndpoints: [{ hostIdentifier: { case: "endpoint", value: { address } } }] }] },
    ...extra,
  });
}

/** The static clusters of Istio's bootstrap: prometheus_stats, agent, sds-grpc, xds-grpc (+ zipkin when tracing). */
export function staticClusters(env: AgentEnv): ClusterInit[] {
  const limits = { maxConnections: 100000, maxPendingRequests: 100000, maxRequests: 100000 };
  const clusters: ClusterInit[] = [
    staticCluster("prometheus_stats", tcp(env.adminAddress, env.ports.admin), 250),
    staticCluster("agent", tcp(env.localAddress, env.ports.status), 250),
    staticCluster("sds-grpc", pipe(env.sdsSocketPath), 1000, { http2ProtocolOptions: {} }),
    staticCluster("xds-grpc", pipe(env.xdsSocketPath), 1000, {
      circuitBreakers: {
        thresholds: [
          { priority: RoutingPriority.DEFAULT, ...limits },
          { priority: RoutingPriority.HIGH, ...limits },
        ],
      },
      upstreamConnectionOptions: { tcpKeepalive: { keepaliveTime: 300 } },
      maxRequestsPerConnection: 1,
      http2ProtocolOptions: {},
    }),
  ];
  const zipkin = env.proxyConfig.tracing?.zipkin;
  if (zipkin) {
    const i = zipkin.address.lastIndexOf(":");
    clusters.push({
      name: "zipkin",
      clusterDiscoveryType: { case: "type", value: Cluster_DiscoveryType.STRICT_DNS },
      respectDnsTtl: true,
      dnsLookupFamily: Cluster_DnsLookupFamily.V4_ONLY,
      dnsRefreshRate: ms(30_000),
      connectTimeout: ms(1000),
      lbPolicy: Cluster_LbPolicy.ROUND_ROBIN,
      loadAssignment: {
        clusterName: "zipkin",
        endpoints: [{ lbEndpoints: [{ hostIdentifier: { case: "endpoint", value: { address: tcp(zipkin.address.slice(0, i), Number(zipkin.address.slice(i + 1)), false) } } }] }],
      },
    });
  }
  return clusters;
}

/** A listener with one HCM that routes one path prefix to one cluster (the 15090 and 15021 listeners). */
function singleRouteListener(address: string, port: number, statPrefix: string, prefix: string, cluster: string): ListenerInit {
  const hcm = create(HttpConnectionManagerSchema, {
    codecType: HttpConnectionManager_CodecType.AUTO,
    statPrefix,
    routeSpecifier: {
      case: "routeConfig",
      value: {
        virtualHosts: [
          {
            name: "backend",
            domains: ["*"],
            routes: [{ match: { pathSpecifier: { case: "prefix", value: prefix } }, action: { case: "route", value: { clusterSpecifier: { case: "cluster", value: cluster } } } }],
          },
        ],
      },
    },
    httpFilters: [{ name: "envoy.filters.http.router", configType: { case: "typedConfig", value: packAny(RouterSchema, create(RouterSchema)) } }],
  });
  return {
    address: tcp(address, port),
    filterChains: [
      { filters: [{ name: "envoy.filters.network.http_connection_manager", configType: { case: "typedConfig", value: packAny(HttpConnectionManagerSchema, hcm) } }] },
    ],
  };
}

/** The 15090 (`/stats/prometheus` → prometheus_stats) and 15021 (`/healthz/ready` → agent) listeners. */
export function staticListeners(env: AgentEnv): ListenerInit[] {
  return [
    singleRouteListener(env.listenAddress, env.ports.prometheus, "stats", "/stats/prometheus", "prometheus_stats"),
    singleRouteListener(env.listenAddress, env.ports.health, "agent", "/healthz/ready", "agent"),
  ];
}
