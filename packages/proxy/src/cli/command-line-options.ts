/** Envoy's command line, as parsed (envoy --help). */
export interface CommandLineOptions {
  configPath?: string;
  configYaml?: string;
  mode: "serve" | "validate" | "init_only";
  serviceNode?: string;
  serviceCluster?: string;
  serviceZone?: string;
  /** Worker threads; 0 means "one per core" as in Envoy. */
  concurrency: number;
  logLevel: EnvoyLogLevel;
  /** `--component-log-level upstream:debug,connection:trace`. */
  componentLogLevels: Record<string, EnvoyLogLevel>;
  logFormat?: string;
  logPath?: string;
  drainTimeS: number;
  drainStrategy: "gradual" | "immediate";
  parentShutdownTimeS: number;
  restartEpoch: number;
  disableHotRestart: boolean;
  allowUnknownStaticFields: boolean;
  rejectUnknownDynamicFields: boolean;
  ignoreUnknownDynamicFields: boolean;
  localAddressIpVersion: "v4" | "v6";
  fileFlushIntervalMsec: number;
  baseId: number;
  /** `--version` / `--help`: print and exit. */
  printVersion: boolean;
  printHelp: boolean;
  /** Envoy flags accepted but meaningless here (warned about once). */
  ignoredFlags: string[];
  /** The raw argv, for /server_info command_line_options. */
  argv: string[];
}

export type EnvoyLogLevel = "trace" | "debug" | "info" | "warning" | "error" | "critical" | "off";

export const ENVOY_LOG_LEVELS: readonly EnvoyLogLevel[] = ["trace", "debug", "info", "warning", "error", "critical", "off"];

/** Envoy level → pino level. */
export function pinoLevelOf(level: EnvoyLogLevel): string {
  switch (level) {
    case "warning":
      return "warn";
    case "critical":
      return "fatal";
    case "off":
      return "silent";
    default:
      return level;
  }
}

export class CommandLineError extends Error {
  override readonly name = "CommandLineError";
}
