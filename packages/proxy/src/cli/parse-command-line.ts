import { CommandLineError, ENVOY_LOG_LEVELS, type CommandLineOptions, type EnvoyLogLevel } from "./command-line-options.js";

type Setter = (o: CommandLineOptions, value: string, flag: string) => void;

const int = (flag: string, value: string, min = 0): number => {
  if (!/^-?\d+$/.test(value) || Number(value) < min) throw new CommandLineError(`${flag}: expected an integer >= ${min}, got '${value}'`);
  return Number(value);
};

const level = (flag: string, value: string): EnvoyLogLevel => {
  const v = (value === "warn" ? "warning" : value) as EnvoyLogLevel;
  if (!ENVOY_LOG_LEVELS.includes(v)) throw new CommandLineError(`${flag}: unknown log level '${value}' (one of ${ENVOY_LOG_LEVELS.join(", ")})`);
  return v;
};

// Flags that take a value, keyed by every spelling Envoy accepts.
const VALUE_FLAGS: Record<string, Setter> = {
  "-c": (o, v) => (o.configPath = v),
  "--config-path": (o, v) => (o.configPath = v),
  "--config-yaml": (o, v) => (o.configYaml = v),
  "--mode": (o, v, f) => {
    if (v !== "serve" && v !== "validate" && v !== "init_only") throw new CommandLineError(`${f}: expected serve, validate or init_only, got '${v}'`);
    o.mode = v;
  },
  "--service-node": (o, v) => (o.serviceNode = v),
  "--service-cluster": (o, v) => (o.serviceCluster = v),
  "--service-zone": (o, v) => (o.serviceZone = v),
  "--concurrency": (o, v, f) => (o.concurrency = int(f, v)),
  "-l": (o, v, f) => (o.logLevel = level(f, v)),
  "--log-level": (o, v, f) => (o.logLevel = level(f, v)),
  "--component-log-level": (o, v, f) => {
    for (const pair of v.split(",").filter(Boolean)) {
      const [component, lvl] = pair.split(":");
      if (!component || !lvl) throw new CommandLineError(`${f}: expected component:level[,component:level], got '${pair}'`);
      o.componentLogLevels[component] = level(f, lvl);
    }
  },
  "--log-format": (o, v) => (o.logFormat = v),
  "--log-path": (o, v) => (o.logPath = v),
  "--drain-time-s": (o, v, f) => (o.drainTimeS = int(f, v)),
  "--drain-strategy": (o, v, f) => {
    if (v !== "gradual" && v !== "immediate") throw new CommandLineError(`${f}: expected gradual or immediate, got '${v}'`);
    o.drainStrategy = v;
  },
  "--parent-shutdown-time-s": (o, v, f) => (o.parentShutdownTimeS = int(f, v)),
  "--restart-epoch": (o, v, f) => (o.restartEpoch = int(f, v)),
  "--local-address-ip-version": (o, v, f) => {
    if (v !== "v4" && v !== "v6") throw new CommandLineError(`${f}: expected v4 or v6, got '${v}'`);
    o.localAddressIpVersion = v;
  },
  "--file-flush-interval-msec": (o, v, f) => (o.fileFlushIntervalMsec = int(f, v, 1)),
  "--base-id": (o, v, f) => (o.baseId = int(f, v)),
};

const BOOL_FLAGS: Record<string, (o: CommandLineOptions) => void> = {
  "--disable-hot-restart": (o) => (o.disableHotRestart = true),
  "--allow-unknown-static-fields": (o) => (o.allowUnknownStaticFields = true),
  "--allow-unknown-fields": (o) => (o.allowUnknownStaticFields = true),
  "--reject-unknown-dynamic-fields": (o) => (o.rejectUnknownDynamicFields = true),
  "--ignore-unknown-dynamic-fields": (o) => (o.ignoreUnknownDynamicFields = true),
  "--version": (o) => (o.printVersion = true),
  "--help": (o) => (o.printHelp = true),
  "-h": (o) => (o.printHelp = true),
};

// Real Envoy flags with no meaning here (hot restart, CPU sets, mutex
// tracing…): accepted so the agent can pass Envoy's arguments unchanged.
const IGNORED_VALUE_FLAGS = new Set([
  "--base-id-path",
  "--socket-path",
  "--socket-mode",
  "--bootstrap-version",
  "--disable-extensions",
  "--stats-tag",
  "--hot-restart-version",
  "--admin-address-path",
]);
const IGNORED_BOOL_FLAGS = new Set([
  "--use-dynamic-base-id",
  "--enable-mutex-tracing",
  "--enable-fine-grain-logging",
  "--log-format-escaped",
  "--enable-core-dump",
  "--skip-hot-restart-on-no-parent",
  "--skip-hot-restart-parent-stats",
  "--cpuset-threads",
]);

export function defaultCommandLineOptions(): CommandLineOptions {
  return {
    mode: "serve",
    concurrency: 0,
    logLevel: "info",
    componentLogLevels: {},
    drainTimeS: 600,
    drainStrategy: "gradual",
    parentShutdownTimeS: 900,
    restartEpoch: 0,
    disableHotRestart: false,
    allowUnknownStaticFields: false,
    rejectUnknownDynamicFields: false,
    ignoreUnknownDynamicFields: false,
    localAddressIpVersion: "v4",
    fileFlushIntervalMsec: 10_000,
    baseId: 0,
    printVersion: false,
    printHelp: false,
    ignoredFlags: [],
    argv: [],
  };
}

/** Parses Envoy's arguments (`--flag value`, `--flag=value`, `-c path`); throws CommandLineError naming the flag. */
export function parseCommandLine(argv: readonly string[]): CommandLineOptions {
  const o = defaultCommandLineOptions();
  o.argv = [...argv];
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i]!;
    const eq = arg.startsWith("--") ? arg.indexOf("=") : -1;
    const flag = eq > 0 ? arg.slice(0, eq) : arg;
    const inline = eq > 0 ? arg.slice(eq + 1) : undefined;
    const takeValue = (): string => {
      if (inline !== undefined) return inline;
      const next = argv[i + 1];
      if (next === undefined) throw new CommandLineError(`${flag}: missing value`);
      i++;
      return next;
    };
    const setter = VALUE_FLAGS[flag];
    if (setter) {
      setter(o, takeValue(), flag);
    } else if (BOOL_FLAGS[flag]) {
      if (inline !== undefined && inline !== "true") {
        if (inline !== "false") throw new CommandLineError(`${flag}: expected no value, got '${inline}'`);
      } else BOOL_FLAGS[flag](o);
    } else if (IGNORED_VALUE_FLAGS.has(flag)) {
      takeValue();
      o.ignoredFlags.push(flag);
    } else if (IGNORED_BOOL_FLAGS.has(flag)) {
      o.ignoredFlags.push(flag);
    } else {
      throw new CommandLineError(`unknown argument '${arg}' (see weft-proxy --help)`);
    }
  }
  if (!o.printHelp && !o.printVersion && !o.configPath && !o.configYaml) {
    throw new CommandLineError("no configuration: give -c/--config-path <file> and/or --config-yaml <yaml>");
  }
  return o;
}

export const USAGE = `Usage: weft-proxy -c <bootstrap.json|yaml> [options]   (Envoy's command line)
  -c, --config-path <path>          bootstrap file (JSON or YAML)
      --config-yaml <yaml>          YAML merged over the file (proto MergeFrom, as Envoy)
      --mode serve|validate         validate: check the config, bind nothing, exit 0 if OK
      --service-node <id>           overrides node.id
      --service-cluster <name>      overrides node.cluster
      --service-zone <zone>         overrides node.locality.zone
      --concurrency <n>             worker processes sharing the listeners (0 or 1: one process)
  -l, --log-level <level>           trace|debug|info|warning|error|critical|off
      --component-log-level <c:l,…> per-component levels
      --log-format <pattern>        spdlog pattern (%Y %m %d %T %e %l %n %v %t %%)
      --log-path <file>             logs to a file instead of stderr
      --drain-time-s <s>            drain time on shutdown (default 600)
      --drain-strategy gradual|immediate
      --parent-shutdown-time-s <s>  accepted (no hot restart)
      --restart-epoch <n>           reported in server.hot_restart_epoch
      --disable-hot-restart         accepted (no hot restart)
      --allow-unknown-static-fields unknown bootstrap fields warn instead of failing
      --local-address-ip-version v4|v6
      --file-flush-interval-msec <ms> access log flush interval (default 10000)
      --base-id <n>                 accepted (no shared memory)
      --version, --help`;
