// The weft-discovery command line, with istiod's flag names where they exist
// (--grpcAddr there is --grpc-addr here, as the issue fixes them).
import { parseArgs } from "node:util";
import { parseListenAddress } from "../app/listen-address.js";
import { parseDurationMs } from "../source/duration.js";

export interface DiscoveryFlags {
  configDir: string;
  grpcAddr: string;
  httpAddr: string;
  monitoringAddr: string;
  domain: string;
  logLevel: string;
  /** Mesh CA directory (issue 7); the CA is off when unset. */
  caDir?: string;
  caAddr: string;
  trustDomain: string;
  /** Istio mesh config file (accessLogFile, accessLogEncoding, outboundTrafficPolicy…). */
  meshConfig?: string;
  /** Quiet time before a batch of changes is pushed (istiod's PILOT_DEBOUNCE_AFTER), ms. */
  debounceAfterMs: number;
  /** Longest a batch waits while changes keep coming (istiod's PILOT_DEBOUNCE_MAX), ms. */
  debounceMaxMs: number;
  /** Sidecar outbound HTTP listeners use the remote address (istiod's PILOT_SIDECAR_USE_REMOTE_ADDRESS). */
  sidecarUseRemoteAddress: boolean;
}

export const USAGE = `Usage: weft-discovery --config-dir DIR [options]

Serves Envoy xDS (ADS, SotW and delta) computed from a directory of Kubernetes
and Istio YAML, watched for changes.

Options:
  --config-dir DIR          directory of Kubernetes/Istio YAML (required)
  --grpc-addr HOST:PORT     ADS gRPC listen address (default 127.0.0.1:15010)
  --http-addr HOST:PORT     /ready and /debug/* (default :8080)
  --monitoring-addr H:P     Prometheus /metrics (default :15014)
  --domain DOMAIN           cluster DNS domain (default cluster.local)
  --ca-dir DIR              run the mesh CA: self-signed root kept in DIR (or the plugged-in
                            CA in DIR/cacerts), root published as DIR/root-cert.pem, local
                            workload credentials read from DIR/workloads.json
  --ca-addr HOST:PORT       IstioCertificateService over TLS (default :15012; needs --ca-dir)
  --trust-domain DOMAIN     SPIFFE trust domain of workload certificates (default cluster.local)
  --mesh-config FILE        Istio mesh config YAML (accessLogFile, accessLogEncoding,
                            outboundTrafficPolicy, connectTimeout, rootNamespace)
  --debounce-after DURATION quiet time before changes are pushed (istiod's
                            PILOT_DEBOUNCE_AFTER; default 100ms)
  --debounce-max DURATION   longest a change waits while others keep coming
                            (istiod's PILOT_DEBOUNCE_MAX; default 1s)
  --sidecar-use-remote-address
                            sidecar outbound HTTP listeners set use_remote_address, so
                            apps may set x-envoy-* timeout/retry headers (istiod's
                            PILOT_SIDECAR_USE_REMOTE_ADDRESS, also read from the
                            environment; default false: the sidecar strips them)
  --log-level LEVEL         fatal|error|warn|info|debug|trace|silent (default info)
  -h, --help                show this help
`;

const LEVELS = new Set(["fatal", "error", "warn", "info", "debug", "trace", "silent"]);

export class UsageError extends Error {
  override readonly name = "UsageError";
}

/** Parses argv (without node and script); `undefined` means --help was asked for. */
export function parseFlags(argv: readonly string[], env: Readonly<Record<string, string | undefined>> = {}): DiscoveryFlags | undefined {
  let values;
  try {
    ({ values } = parseArgs({
      args: [...argv],
      strict: true,
      allowPositionals: false,
      options: {
        "config-dir": { type: "string" },
        "grpc-addr": { type: "string", default: "127.0.0.1:15010" },
        "http-addr": { type: "string", default: ":8080" },
        "monitoring-addr": { type: "string", default: ":15014" },
        domain: { type: "string", default: "cluster.local" },
        "log-level": { type: "string", default: "info" },
        "ca-dir": { type: "string" },
        "ca-addr": { type: "string", default: ":15012" },
        "trust-domain": { type: "string", default: "cluster.local" },
        "mesh-config": { type: "string" },
        "debounce-after": { type: "string", default: "100ms" },
        "debounce-max": { type: "string", default: "1s" },
        "sidecar-use-remote-address": { type: "boolean", default: false },
        help: { type: "boolean", short: "h", default: false },
      },
    }));
  } catch (error) {
    // parseArgs says e.g. "Unknown option '--grpcAddr'": keep its words, add the fix.
    throw new UsageError(`${(error as Error).message}`);
  }
  if (values.help) return undefined;
  if (!values["config-dir"]) throw new UsageError("--config-dir is required: the directory of Kubernetes/Istio YAML to serve");
  const level = values["log-level"]!;
  if (!LEVELS.has(level)) throw new UsageError(`--log-level ${JSON.stringify(level)}: expected one of ${[...LEVELS].join(", ")}`);
  const flags: DiscoveryFlags = {
    configDir: values["config-dir"],
    grpcAddr: values["grpc-addr"]!,
    httpAddr: values["http-addr"]!,
    monitoringAddr: values["monitoring-addr"]!,
    domain: values.domain!,
    logLevel: level,
    ...(values["ca-dir"] ? { caDir: values["ca-dir"] } : {}),
    caAddr: values["ca-addr"]!,
    trustDomain: values["trust-domain"]!,
    ...(values["mesh-config"] ? { meshConfig: values["mesh-config"] } : {}),
    debounceAfterMs: flagDuration("--debounce-after", values["debounce-after"]!),
    debounceMaxMs: flagDuration("--debounce-max", values["debounce-max"]!),
    sidecarUseRemoteAddress: values["sidecar-use-remote-address"]! || envBoolean(env, "PILOT_SIDECAR_USE_REMOTE_ADDRESS"),
  };
  if (flags.debounceMaxMs < flags.debounceAfterMs) {
    throw new UsageError(`--debounce-max ${values["debounce-max"]} is shorter than --debounce-after ${values["debounce-after"]}: a batch could never wait for quiet`);
  }
  for (const [flag, value] of [["--grpc-addr", flags.grpcAddr], ["--http-addr", flags.httpAddr], ["--monitoring-addr", flags.monitoringAddr], ["--ca-addr", flags.caAddr]] as const) {
    try {
      parseListenAddress(flag, value);
    } catch (error) {
      throw new UsageError((error as Error).message);
    }
  }
  if (!/^[a-z0-9]([a-z0-9.-]*[a-z0-9])?$/i.test(flags.domain)) throw new UsageError(`--domain ${JSON.stringify(flags.domain)}: not a DNS domain`);
  return flags;
}

function flagDuration(flag: string, value: string): number {
  try {
    return parseDurationMs(value);
  } catch (error) {
    throw new UsageError(`${flag}: ${(error as Error).message}`);
  }
}

/** An istiod boolean feature flag from the environment (Go's strconv.ParseBool spellings). */
function envBoolean(env: Readonly<Record<string, string | undefined>>, name: string): boolean {
  const raw = env[name];
  if (raw === undefined || raw === "") return false;
  if (/^(1|t|true)$/i.test(raw)) return true;
  if (/^(0|f|false)$/i.test(raw)) return false;
  throw new UsageError(`${name}=${JSON.stringify(raw)}: expected true or false`);
}
