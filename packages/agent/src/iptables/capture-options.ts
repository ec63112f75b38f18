import { isIPv4 } from "node:net";
import { AgentError } from "../errors.js";

/** istio-iptables's settings, with its defaults (tools/istio-iptables/pkg/cmd/root.go). */
export interface CaptureOptions {
  proxyPort: number; // -p, ENVOY_PORT
  inboundCapturePort: number; // -z, INBOUND_CAPTURE_PORT
  proxyUids: string[]; // -u, ENVOY_USER uid (comma-separated allowed)
  proxyGids: string[]; // -g, defaults to the uids
  mode: "REDIRECT" | "TPROXY"; // -m
  outboundIpRangesInclude: string; // -i: "*" or CIDRs
  outboundIpRangesExclude: string[]; // -x
  inboundPortsInclude: string; // -b: "*" or ports ("" = no inbound capture)
  inboundPortsExclude: string[]; // -d
  outboundPortsExclude: string[]; // -o
  outboundPortsInclude: string[]; // -q
  inboundTproxyMark: string; // -t
  inboundTproxyRouteTable: string; // -r
  dryRun: boolean;
  cleanup: boolean;
  runValidation: boolean;
  probeIp: string;
  probePort: number;
  validationTimeoutMs: number;
}

/** 15008 (HBONE) is always kept out of inbound capture, as istio-iptables does. */
export const ALWAYS_EXCLUDED_INBOUND_PORTS = ["15008"];

const SHORT: Record<string, string> = {
  "-p": "envoy-port",
  "-z": "inbound-capture-port",
  "-u": "proxy-uid",
  "-g": "proxy-gid",
  "-m": "istio-inbound-interception-mode",
  "-i": "istio-service-cidr",
  "-x": "istio-service-exclude-cidr",
  "-b": "istio-inbound-ports",
  "-d": "istio-local-exclude-ports",
  "-o": "istio-local-outbound-ports-exclude",
  "-q": "istio-local-outbound-ports-include",
  "-t": "inbound-tproxy-mark",
  "-r": "inbound-tproxy-route-table",
};
const BOOL = new Set(["dry-run", "cleanup", "run-validation"]);
const KNOWN = new Set([...Object.values(SHORT), ...BOOL, "probe-ip", "probe-port", "validation-timeout-ms", "log_output_level", "iptables-probe-port"]);

function list(v: string): string[] {
  return v
    .split(",")
    .map((s) => s.trim())
    .filter(Boolean);
}

function portNum(v: string, flag: string): number {
  const n = Number(v);
  if (!/^\d+$/.test(v) || n < 1 || n > 65535) throw new AgentError("invalid_argument", `${flag}: "${v}" is not a port number`);
  return n;
}

function checkPorts(ports: string[], flag: string): string[] {
  for (const p of ports) portNum(p, flag);
  return ports;
}

function checkCidrs(cidrs: string[], flag: string): string[] {
  for (const c of cidrs) {
    const [ip, len] = c.split("/");
    if (!isIPv4(ip) || (len !== undefined && !(/^\d+$/.test(len) && Number(len) <= 32))) {
      throw new AgentError("invalid_argument", `${flag}: "${c}" is not an IPv4 CIDR (IPv6 capture is not supported yet)`);
    }
  }
  return cidrs;
}

/** Parses istio-iptables's command line (short and long flags, `--flag=value` or `--flag value`). */
export function parseCaptureArgs(argv: string[], env: Record<string, string | undefined> = {}): CaptureOptions {
  const raw = new Map<string, string>();
  for (let i = 0; i < argv.length; i++) {
    let arg = argv[i];
    let value: string | undefined;
    if (arg.startsWith("--") && arg.includes("=")) [arg, value] = [arg.slice(0, arg.indexOf("=")), arg.slice(arg.indexOf("=") + 1)];
    const name = SHORT[arg] ?? (arg.startsWith("--") ? arg.slice(2) : undefined);
    if (!name) throw new AgentError("invalid_argument", `iptables: unknown argument "${arg}"`);
    if (!KNOWN.has(name)) throw new AgentError("invalid_argument", `iptables: unknown flag --${name}`);
    if (BOOL.has(name)) {
      raw.set(name, value ?? "true");
      continue;
    }
    if (value === undefined) {
      if (i + 1 >= argv.length) throw new AgentError("invalid_argument", `iptables: ${arg} needs a value`);
      value = argv[++i];
    }
    raw.set(name, value);
  }
  const get = (name: string, envName: string, fallback: string) => raw.get(name) ?? env[envName] ?? fallback;

  const mode = get("istio-inbound-interception-mode", "INBOUND_INTERCEPTION_MODE", "REDIRECT");
  if (mode !== "REDIRECT" && mode !== "TPROXY") throw new AgentError("invalid_argument", `-m: "${mode}" is not REDIRECT or TPROXY`);
  const uids = list(get("proxy-uid", "ENVOY_USER_UID", "1337"));
  const gids = raw.has("proxy-gid") || env.ENVOY_USER_GID ? list(get("proxy-gid", "ENVOY_USER_GID", "")) : uids;
  for (const id of [...uids, ...gids]) if (!/^\d+$/.test(id)) throw new AgentError("invalid_argument", `-u/-g: "${id}" is not a numeric id`);
  const include = get("istio-service-cidr", "ISTIO_SERVICE_CIDR", "*").trim();
  const inboundInclude = get("istio-inbound-ports", "INBOUND_PORTS_INCLUDE", "*").trim();
  const probeIp = raw.get("probe-ip") ?? "192.0.2.1";
  if (!isIPv4(probeIp)) throw new AgentError("invalid_argument", `--probe-ip: "${probeIp}" is not an IPv4 address`);

  return {
    proxyPort: portNum(get("envoy-port", "ENVOY_PORT", "15001"), "-p"),
    inboundCapturePort: portNum(get("inbound-capture-port", "INBOUND_CAPTURE_PORT", "15006"), "-z"),
    proxyUids: uids,
    proxyGids: gids,
    mode,
    outboundIpRangesInclude: include === "*" ? "*" : checkCidrs(list(include), "-i").join(","),
    outboundIpRangesExclude: checkCidrs(list(get("istio-service-exclude-cidr", "ISTIO_SERVICE_EXCLUDE_CIDR", "")), "-x"),
    inboundPortsInclude: inboundInclude === "*" ? "*" : checkPorts(list(inboundInclude), "-b").join(","),
    inboundPortsExclude: checkPorts(list(get("istio-local-exclude-ports", "ISTIO_LOCAL_EXCLUDE_PORTS", "")), "-d"),
    outboundPortsExclude: checkPorts(list(get("istio-local-outbound-ports-exclude", "ISTIO_LOCAL_OUTBOUND_PORTS_EXCLUDE", "")), "-o"),
    outboundPortsInclude: checkPorts(list(get("istio-local-outbound-ports-include", "ISTIO_LOCAL_OUTBOUND_PORTS_INCLUDE", "")), "-q"),
    inboundTproxyMark: get("inbound-tproxy-mark", "INBOUND_TPROXY_MARK", "1337"),
    inboundTproxyRouteTable: get("inbound-tproxy-route-table", "INBOUND_TPROXY_ROUTE_TABLE", "133"),
    dryRun: raw.get("dry-run") === "true" || env.DRY_RUN === "true",
    cleanup: raw.get("cleanup") === "true",
    runValidation: raw.get("run-validation") === "true",
    probeIp,
    probePort: portNum(raw.get("probe-port") ?? raw.get("iptables-probe-port") ?? "15002", "--probe-port"),
    validationTimeoutMs: Number(raw.get("validation-timeout-ms") ?? "5000"),
  };
}
