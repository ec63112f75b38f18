// An envoy.admin.v3.ConfigDump of what one proxy was last sent, in the shape
// Envoy's /config_dump uses, so `istioctl proxy-config`-style tooling and
// humans can diff it against the proxy's own dump.
import { create, type DescMessage } from "@bufbuild/protobuf";
import { anyPack, timestampFromMs, type Any } from "@bufbuild/protobuf/wkt";
import { TypeUrl } from "@weft/xds-api";
import { ConfigDumpSchema, SecretsConfigDumpSchema, type ConfigDump } from "@weft/xds-api/gen/envoy/admin/v3/config_dump_pb.js";
import {
  ClustersConfigDumpSchema,
  EndpointsConfigDumpSchema,
  ListenersConfigDumpSchema,
  RoutesConfigDumpSchema,
} from "@weft/xds-api/gen/envoy/admin/v3/config_dump_shared_pb.js";
import type { AdsConnection } from "../server/ads-connection.js";
import { sentResources } from "./debug-handler.js";
import { redactSecretAny } from "../credentials/redact.js";

export function buildConfigDump(conn: AdsConnection): ConfigDump {
  const status = new Map(conn.status().map((s) => [s.typeUrl, s]));
  const entries = (typeUrl: string) => {
    const st = status.get(typeUrl);
    const lastUpdated = timestampFromMs(conn.sentAt.get(typeUrl) ?? conn.connectedAt.getTime());
    const resources = st ? sentResources(conn, st) : [];
    return { resources, versionInfo: st?.sentVersion ?? "", lastUpdated };
  };
  const configs: Any[] = [];
  const pack = <D extends DescMessage>(schema: D, init: Parameters<typeof create<D>>[1]) => configs.push(anyPack(schema, create(schema, init)));

  const cds = entries(TypeUrl.Cluster);
  pack(ClustersConfigDumpSchema, {
    versionInfo: cds.versionInfo,
    dynamicActiveClusters: cds.resources.map((r) => ({ versionInfo: cds.versionInfo, cluster: r.resource, lastUpdated: cds.lastUpdated })),
  });
  const eds = entries(TypeUrl.ClusterLoadAssignment);
  pack(EndpointsConfigDumpSchema, {
    dynamicEndpointConfigs: eds.resources.map((r) => ({ versionInfo: eds.versionInfo, endpointConfig: r.resource, lastUpdated: eds.lastUpdated })),
  });
  const lds = entries(TypeUrl.Listener);
  pack(ListenersConfigDumpSchema, {
    versionInfo: lds.versionInfo,
    dynamicListeners: lds.resources.map((r) => ({
      name: r.name,
      activeState: { versionInfo: lds.versionInfo, listener: r.resource, lastUpdated: lds.lastUpdated },
    })),
  });
  const rds = entries(TypeUrl.RouteConfiguration);
  pack(RoutesConfigDumpSchema, {
    dynamicRouteConfigs: rds.resources.map((r) => ({ versionInfo: rds.versionInfo, routeConfig: r.resource, lastUpdated: rds.lastUpdated })),
  });
  // As Envoy's own dump: private keys show as "[redacted]", certificates as sent.
  const sds = entries(TypeUrl.Secret);
  pack(SecretsConfigDumpSchema, {
    dynamicActiveSecrets: sds.resources.map((r) => ({ name: r.name, versionInfo: sds.versionInfo, lastUpdated: sds.lastUpdated, secret: redactSecretAny(r.resource) })),
  });
  return create(ConfigDumpSchema, { configs });
}
