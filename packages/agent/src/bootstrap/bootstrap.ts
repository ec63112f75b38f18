import { create, type JsonObject } from "@bufbuild/protobuf";
import { packAny, toEnvoyJson } from "@weft/xds-api";
import { BootstrapSchema, type Bootstrap } from "@weft/xds-api/gen/envoy/config/bootstrap/v3/bootstrap_pb";
import { ApiConfigSource_ApiType, ApiVersion } from "@weft/xds-api/gen/envoy/config/core/v3/config_source_pb";
import { ZipkinConfig_CollectorEndpointVersion, ZipkinConfigSchema } from "@weft/xds-api/gen/envoy/config/trace/v3/zipkin_pb";
import type { AgentEnv } from "../env/agent-env.js";
import { nodeId, nodeMetadata, serviceCluster } from "./node-identity.js";
import { istioStatsConfig } from "./stats-config.js";
import { staticClusters, staticListeners } from "./static-resources.js";

/** Locality from the well-known topology labels, as istiod reads them. */
function locality(labels: Record<string, string>) {
  return {
    region: labels["topology.kubernetes.io/region"] ?? "",
    zone: labels["topology.kubernetes.io/zone"] ?? "",
    subZone: labels["topology.istio.io/subzone"] ?? "",
  };
}

/** Builds the bootstrap pilot-agent would write for this environment (structure of Istio's envoy_bootstrap.json). */
export function buildBootstrap(env: AgentEnv): Bootstrap {
  const adsSource = { configSourceSpecifier: { case: "ads" as const, value: {} }, initialFetchTimeout: { seconds: 0n, nanos: 0 }, resourceApiVersion: ApiVersion.V3 };
  const staticLayer: JsonObject = {
    "envoy.deprecated_features:envoy.config.listener.v3.Listener.hidden_envoy_deprecated_use_original_dst": true,
    "envoy.reloadable_features.strict_1xx_and_204_response_headers": false,
    "re2.max_program_size.error_level": 1024,
    "envoy.reloadable_features.treat_host_like_authority": false,
  };
  const bootstrap = create(BootstrapSchema, {
    node: { id: nodeId(env), cluster: serviceCluster(env), locality: locality(env.podInfo.labels), metadata: nodeMetadata(env) },
    layeredRuntime: {
      layers: [
        { name: "deprecation", layerSpecifier: { case: "staticLayer", value: staticLayer } },
        { name: "global config", layerSpecifier: { case: "staticLayer", value: { "overload.global_downstream_max_connections": 2147483647 } } },
        { name: "admin", layerSpecifier: { case: "adminLayer", value: {} } },
      ],
    },
    statsConfig: istioStatsConfig(),
    admin: {
      accessLogPath: "/dev/null",
      profilePath: `${env.agentDir}/envoy.prof`,
      address: { address: { case: "socketAddress", value: { address: env.adminAddress, portSpecifier: { case: "portValue", value: env.ports.admin } } } },
    },
    dynamicResources: {
      ldsConfig: adsSource,
      cdsConfig: adsSource,
      adsConfig: {
        apiType: ApiConfigSource_ApiType.GRPC,
        setNodeOnFirstMessageOnly: true,
        transportApiVersion: ApiVersion.V3,
        grpcServices: [{ targetSpecifier: { case: "envoyGrpc", value: { clusterName: "xds-grpc" } } }],
      },
    },
    staticResources: { clusters: staticClusters(env), listeners: staticListeners(env) },
  });
  if (env.proxyConfig.tracing?.zipkin) {
    const zipkin = create(ZipkinConfigSchema, {
      collectorCluster: "zipkin",
      collectorEndpoint: "/api/v2/spans",
      collectorEndpointVersion: ZipkinConfig_CollectorEndpointVersion.HTTP_JSON,
      traceId128bit: true,
      sharedSpanContext: false,
    });
    bootstrap.tracing = create(BootstrapSchema.field.tracing.message!, {
      http: { name: "envoy.tracers.zipkin", configType: { case: "typedConfig", value: packAny(ZipkinConfigSchema, zipkin) } },
    }) as Bootstrap["tracing"];
  }
  return bootstrap;
}

/** The bootstrap as Envoy JSON (snake_case), what `-c envoy-rev.json` reads. */
export function bootstrapToJson(bootstrap: Bootstrap): string {
  return JSON.stringify(toEnvoyJson(BootstrapSchema, bootstrap), null, 2) + "\n";
}
