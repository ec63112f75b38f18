import { create, toJson, type JsonValue } from "@bufbuild/protobuf";
import { xdsRegistry } from "@weft/xds-api";
import {
  CommandLineOptions_DrainStrategy,
  CommandLineOptions_IpVersion,
  CommandLineOptions_Mode,
  ServerInfo_State,
  ServerInfoSchema,
} from "@weft/xds-api/gen/envoy/admin/v3/server_info_pb";
import type { Node } from "@weft/xds-api/gen/envoy/config/core/v3/base_pb";
import type { CommandLineOptions } from "../cli/command-line-options.js";
import type { ServerState } from "../stats/server-stats.js";

const seconds = (s: number) => ({ seconds: BigInt(Math.floor(s)), nanos: Math.round((s % 1) * 1e9) });

/** envoy.admin.v3.ServerInfo as /server_info prints it. */
export function renderServerInfo(input: { version: string; state: ServerState; startedAt: number; options: CommandLineOptions; node?: Node }): JsonValue {
  const o = input.options;
  const uptime = seconds((Date.now() - input.startedAt) / 1000);
  const msg = create(ServerInfoSchema, {
    version: input.version,
    state: ServerInfo_State[input.state],
    uptimeCurrentEpoch: uptime,
    uptimeAllEpochs: uptime,
    hotRestartVersion: "disabled",
    node: input.node,
    commandLineOptions: {
      baseId: BigInt(o.baseId),
      concurrency: o.concurrency,
      configPath: o.configPath ?? "",
      configYaml: o.configYaml ?? "",
      allowUnknownStaticFields: o.allowUnknownStaticFields,
      rejectUnknownDynamicFields: o.rejectUnknownDynamicFields,
      ignoreUnknownDynamicFields: o.ignoreUnknownDynamicFields,
      localAddressIpVersion: o.localAddressIpVersion === "v6" ? CommandLineOptions_IpVersion.v6 : CommandLineOptions_IpVersion.v4,
      logLevel: o.logLevel,
      componentLogLevel: Object.entries(o.componentLogLevels).map(([c, l]) => `${c}:${l}`).join(","),
      logFormat: o.logFormat ?? "",
      logPath: o.logPath ?? "",
      serviceCluster: o.serviceCluster ?? "",
      serviceNode: o.serviceNode ?? "",
      serviceZone: o.serviceZone ?? "",
      fileFlushInterval: seconds(o.fileFlushIntervalMsec / 1000),
      drainTime: seconds(o.drainTimeS),
      drainStrategy: o.drainStrategy === "immediate" ? CommandLineOptions_DrainStrategy.Immediate : CommandLineOptions_DrainStrategy.Gradual,
      parentShutdownTime: seconds(o.parentShutdownTimeS),
      mode: o.mode === "validate" ? CommandLineOptions_Mode.Validate : o.mode === "init_only" ? CommandLineOptions_Mode.InitOnly : CommandLineOptions_Mode.Serve,
      disableHotRestart: o.disableHotRestart,
      restartEpoch: o.restartEpoch,
    },
  });
  // Envoy prints /server_info with every primitive field, so state LIVE (enum 0) shows.
  return toJson(ServerInfoSchema, msg, { registry: xdsRegistry, useProtoFieldName: true, alwaysEmitImplicit: true });
}
