// Gateway, ServiceEntry, Sidecar, WorkloadEntry and the security/telemetry
// kinds, after istiod's validation webhook for the fields Weft uses.
import type { FieldChecker, Json } from "./field-checker.js";
import { checkHost, checkNamespacedHost } from "./validate-host.js";

const PROTOCOLS = ["HTTP", "HTTPS", "GRPC", "GRPC-WEB", "HTTP2", "MONGO", "REDIS", "MYSQL", "TCP", "TLS", "UDP"];

function validatePortSpec(value: unknown, path: string, c: FieldChecker): void {
  const p = c.object_(value, path);
  if (!p) {
    c.fail(path, "is required");
    return;
  }
  c.port(p.number, `${path}.number`, true);
  const protocol = c.string(p.protocol, `${path}.protocol`);
  if (protocol !== undefined && !PROTOCOLS.includes(protocol.toUpperCase())) c.fail(`${path}.protocol`, `unknown protocol ${JSON.stringify(protocol)}; use one of ${PROTOCOLS.join(", ")}`);
  if (p.targetPort !== undefined) c.port(p.targetPort, `${path}.targetPort`);
}

export function validateGateway(spec: Json, c: FieldChecker): void {
  c.stringMap(spec.selector, "spec.selector");
  const servers = c.array(spec.servers, "spec.servers");
  if (servers.length === 0) c.fail("spec.servers", "a Gateway needs at least one server");
  servers.forEach((s, i) => {
    const server = c.object_(s, `spec.servers[${i}]`);
    if (!server) return;
    validatePortSpec(server.port, `spec.servers[${i}].port`, c);
    const hosts = c.array(server.hosts, `spec.servers[${i}].hosts`);
    if (hosts.length === 0) c.fail(`spec.servers[${i}].hosts`, "a server needs at least one host");
    hosts.forEach((h, j) => checkNamespacedHost(c, h, `spec.servers[${i}].hosts[${j}]`, false));
    const tls = c.object_(server.tls, `spec.servers[${i}].tls`);
    if (tls?.mode !== undefined) c.oneOf(tls.mode, `spec.servers[${i}].tls.mode`, ["PASSTHROUGH", "SIMPLE", "MUTUAL", "AUTO_PASSTHROUGH", "ISTIO_MUTUAL", "OPTIONAL_MUTUAL"]);
  });
}

export function validateServiceEntry(spec: Json, c: FieldChecker): void {
  const hosts = c.array(spec.hosts, "spec.hosts");
  if (hosts.length === 0) c.fail("spec.hosts", "a ServiceEntry needs at least one host");
  hosts.forEach((h, i) => checkHost(c, h, `spec.hosts[${i}]`));
  c.array(spec.addresses, "spec.addresses").forEach((a, i) => c.string(a, `spec.addresses[${i}]`, true));
  const ports = c.array(spec.ports, "spec.ports");
  const numbers = new Set<unknown>();
  ports.forEach((p, i) => {
    validatePortSpec(p, `spec.ports[${i}]`, c);
    const n = (p as Json | undefined)?.number;
    if (numbers.has(n)) c.fail(`spec.ports[${i}].number`, `duplicate port ${String(n)}`);
    numbers.add(n);
  });
  const resolution = spec.resolution === undefined ? "NONE" : c.oneOf(spec.resolution, "spec.resolution", ["NONE", "STATIC", "DNS", "DNS_ROUND_ROBIN"]);
  if (spec.location !== undefined) c.oneOf(spec.location, "spec.location", ["MESH_EXTERNAL", "MESH_INTERNAL"]);
  const endpoints = c.array(spec.endpoints, "spec.endpoints");
  if (resolution === "STATIC" && endpoints.length === 0 && spec.workloadSelector === undefined) {
    c.fail("spec.endpoints", "resolution STATIC needs endpoints or a workloadSelector");
  }
  if (spec.workloadSelector !== undefined && endpoints.length > 0) c.fail("spec.workloadSelector", "takes no endpoints alongside a workloadSelector");
  endpoints.forEach((e, i) => validateWorkloadEntrySpec(e, `spec.endpoints[${i}]`, c));
  if (resolution === "NONE" && hosts.some((h) => typeof h === "string" && h.startsWith("*")) === false && ports.length === 0) {
    c.fail("spec.ports", "a ServiceEntry needs at least one port");
  }
}

export function validateWorkloadEntrySpec(value: unknown, path: string, c: FieldChecker): void {
  const we = c.object_(value, path);
  if (!we) return;
  if (we.address === undefined && we.network === undefined) c.fail(`${path}.address`, "is required");
  c.string(we.address, `${path}.address`);
  c.stringMap(we.labels, `${path}.labels`);
  const ports = c.object_(we.ports, `${path}.ports`);
  if (ports) for (const [name, n] of Object.entries(ports)) c.port(n, `${path}.ports.${name}`, true);
  c.integer(we.weight, `${path}.weight`, 0, 2 ** 32 - 1);
  c.string(we.serviceAccount, `${path}.serviceAccount`);
}

export function validateSidecar(spec: Json, c: FieldChecker): void {
  const sel = c.object_(spec.workloadSelector, "spec.workloadSelector");
  if (sel) c.stringMap(sel.labels, "spec.workloadSelector.labels");
  c.array(spec.egress, "spec.egress").forEach((e, i) => {
    const eg = c.object_(e, `spec.egress[${i}]`);
    if (!eg) return;
    const hosts = c.array(eg.hosts, `spec.egress[${i}].hosts`);
    if (hosts.length === 0) c.fail(`spec.egress[${i}].hosts`, "an egress listener needs at least one host");
    hosts.forEach((h, j) => checkNamespacedHost(c, h, `spec.egress[${i}].hosts[${j}]`, true));
    if (eg.port !== undefined) validatePortSpec(eg.port, `spec.egress[${i}].port`, c);
  });
  c.array(spec.ingress, "spec.ingress").forEach((e, i) => {
    const ing = c.object_(e, `spec.ingress[${i}]`);
    if (ing) validatePortSpec(ing.port, `spec.ingress[${i}].port`, c);
  });
  const otp = c.object_(spec.outboundTrafficPolicy, "spec.outboundTrafficPolicy");
  if (otp?.mode !== undefined) c.oneOf(otp.mode, "spec.outboundTrafficPolicy.mode", ["ALLOW_ANY", "REGISTRY_ONLY"]);
}

/** PeerAuthentication, AuthorizationPolicy, RequestAuthentication, Telemetry: kept for later generators; shallow checks only. */
export function validateSecurityOrTelemetry(kind: string, spec: Json, c: FieldChecker): void {
  const sel = c.object_(spec.selector, "spec.selector");
  if (sel) c.stringMap(sel.matchLabels, "spec.selector.matchLabels");
  // AuthorizationPolicy's action and rules are checked by security/check-security.ts, which keeps a
  // broken policy and enforces it closed (dropping it here would silently open what it denies).
  if (kind === "PeerAuthentication") {
    const mtls = c.object_(spec.mtls, "spec.mtls");
    if (mtls?.mode !== undefined) c.oneOf(mtls.mode, "spec.mtls.mode", ["UNSET", "DISABLE", "PERMISSIVE", "STRICT"]);
    const pl = c.object_(spec.portLevelMtls, "spec.portLevelMtls");
    if (pl) for (const port of Object.keys(pl)) if (!/^\d+$/.test(port) || Number(port) < 1 || Number(port) > 65535) c.fail(`spec.portLevelMtls.${port}`, `port ${JSON.stringify(port)} must be in 1-65535`);
  }
  if (kind === "RequestAuthentication") {
    c.array(spec.jwtRules, "spec.jwtRules").forEach((r, i) => {
      const rule = c.object_(r, `spec.jwtRules[${i}]`);
      if (rule) c.string(rule.issuer, `spec.jwtRules[${i}].issuer`, true);
    });
  }
}

export { checkHost };
