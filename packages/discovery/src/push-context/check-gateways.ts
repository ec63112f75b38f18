// Gateway server checks istiod's validation webhook makes on `tls`
// (pkg/config/validation: validateServer, validateTLSOptions), with its
// messages. istiod rejects the whole Gateway at admission; Weft keeps the
// Gateway, reports the server as a ConfigError on its `tls` field, and the
// generators skip that server only (a bad certificate reference on one host
// does not take the gateway's other servers down).
import type { ConfigError } from "../contracts.js";
import { isObject, type Json } from "../source/field-checker.js";
import type { IstioStore } from "./istio-config.js";

const HTTP_PROTOCOLS = new Set(["HTTP", "HTTP2", "GRPC", "GRPC-WEB", "HTTP_PROXY"]);
const TLS_PROTOCOLS = new Set(["HTTPS", "TLS"]);

/** Istio's protocol.Parse(...).IsHTTP(): plaintext HTTP family. */
export function isHttpProtocol(protocol: string): boolean {
  return HTTP_PROTOCOLS.has(protocol.toUpperCase());
}

/** Istio's protocol.Parse(...).IsTLS(). */
export function isTlsProtocol(protocol: string): boolean {
  return TLS_PROTOCOLS.has(protocol.toUpperCase());
}

/** ServerTLSSettings.mode, whose proto default (0) is PASSTHROUGH. */
export function tlsModeOf(tls: Json): string {
  return typeof tls.mode === "string" ? tls.mode : "PASSTHROUGH";
}

export function isPassthroughMode(mode: string): boolean {
  return mode === "PASSTHROUGH" || mode === "AUTO_PASSTHROUGH";
}

const str = (v: unknown): string => (typeof v === "string" ? v : "");

/** What is wrong with one server's TLS settings, in istiod's words (empty when valid). */
export function gatewayServerProblems(server: Json): string[] {
  const out: string[] = [];
  const protocol = isObject(server.port) && typeof server.port.protocol === "string" ? server.port.protocol : "HTTP";
  const tls = isObject(server.tls) ? server.tls : undefined;
  if (isTlsProtocol(protocol) && !tls) out.push("server must have TLS settings for HTTPS/TLS protocols");
  if (!tls) return out;
  const mode = tlsModeOf(tls);
  if (!isTlsProtocol(protocol)) {
    if (isHttpProtocol(protocol)) {
      // Only httpsRedirect (mode left at its PASSTHROUGH default) belongs on a plaintext HTTP server.
      if (!isPassthroughMode(mode) || str(tls.caCertificates) || str(tls.privateKey) || str(tls.serverCertificate)) out.push("server cannot have TLS settings for plain text HTTP ports");
    } else out.push("server cannot have TLS settings for non HTTPS/TLS ports");
  }
  if (mode === "ISTIO_MUTUAL") {
    if (str(tls.serverCertificate)) out.push("ISTIO_MUTUAL TLS cannot have associated server certificate");
    if (str(tls.privateKey)) out.push("ISTIO_MUTUAL TLS cannot have associated private key");
    if (str(tls.caCertificates)) out.push("ISTIO_MUTUAL TLS cannot have associated CA bundle");
    if (str(tls.credentialName)) out.push("ISTIO_MUTUAL TLS cannot have associated credentialName");
    return out;
  }
  if (str(tls.credentialName) && (mode === "SIMPLE" || mode === "MUTUAL" || mode === "OPTIONAL_MUTUAL")) return out;
  if (mode === "SIMPLE") {
    if (!str(tls.serverCertificate)) out.push("SIMPLE TLS requires a server certificate");
    if (!str(tls.privateKey)) out.push("SIMPLE TLS requires a private key");
  } else if (mode === "MUTUAL" || mode === "OPTIONAL_MUTUAL") {
    // istiod's webhook only names MUTUAL; OPTIONAL_MUTUAL without credentials would get the
    // workload certificate from its file fallback, which is never what was meant.
    if (!str(tls.serverCertificate)) out.push("MUTUAL TLS requires a server certificate");
    if (!str(tls.privateKey)) out.push("MUTUAL TLS requires a private key");
    if (!str(tls.caCertificates)) out.push("MUTUAL TLS requires a client CA bundle");
  }
  return out;
}

/** One ConfigError per invalid server of every Gateway (listed on /debug/configz). */
export function checkGatewayServers(istio: IstioStore): ConfigError[] {
  const errors: ConfigError[] = [];
  for (const gw of istio.gateways) {
    (Array.isArray(gw.spec.servers) ? gw.spec.servers : []).forEach((s, i) => {
      if (!isObject(s)) return;
      const problems = gatewayServerProblems(s);
      if (problems.length === 0) return;
      errors.push({
        origin: gw.origin,
        object: `Gateway ${gw.namespace}/${gw.name}`,
        field: isObject(s.tls) ? `spec.servers[${i}].tls` : `spec.servers[${i}]`,
        reason: `${problems.join("; ")}; this server is skipped (istiod's webhook rejects the Gateway)`,
      });
    });
  }
  return errors;
}
