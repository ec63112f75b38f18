import type { Message } from "@bufbuild/protobuf";
import { readEnvoyText, unpackAny } from "@weft/xds-api";
import { ConfigDumpSchema, type BootstrapConfigDump, type ConfigDump, type SecretsConfigDump } from "@weft/xds-api/gen/envoy/admin/v3/config_dump_pb.js";
import type { ClustersConfigDump, EndpointsConfigDump, ListenersConfigDump, RoutesConfigDump } from "@weft/xds-api/gen/envoy/admin/v3/config_dump_shared_pb.js";

/** A proxy's /config_dump, each section unpacked to its admin type. */
export interface ConfigDumpSections {
  bootstrap?: BootstrapConfigDump;
  clusters?: ClustersConfigDump;
  listeners?: ListenersConfigDump;
  routes?: RoutesConfigDump;
  endpoints?: EndpointsConfigDump;
  secrets?: SecretsConfigDump;
}

const SECTION: Record<string, keyof ConfigDumpSections> = {
  "envoy.admin.v3.BootstrapConfigDump": "bootstrap",
  "envoy.admin.v3.ClustersConfigDump": "clusters",
  "envoy.admin.v3.ListenersConfigDump": "listeners",
  "envoy.admin.v3.RoutesConfigDump": "routes",
  "envoy.admin.v3.EndpointsConfigDump": "endpoints",
  "envoy.admin.v3.SecretsConfigDump": "secrets",
};

export function parseConfigDump(text: string, source = "config dump"): { dump: ConfigDump; sections: ConfigDumpSections } {
  // Envoy adds fields over time; a newer proxy's dump must still print.
  const dump = readEnvoyText(ConfigDumpSchema, text, { fileName: source, ignoreUnknownFields: true });
  const sections: ConfigDumpSections = {};
  for (const any of dump.configs) {
    const key = SECTION[any.typeUrl.slice(any.typeUrl.lastIndexOf("/") + 1)];
    if (key) (sections as Record<string, Message>)[key] = unpackAny(any).message;
  }
  return { dump, sections };
}
