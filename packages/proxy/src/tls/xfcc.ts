// x-forwarded-client-cert: the HCM's forward_client_cert_details and
// set_current_client_cert_details, with Envoy's semantics
// (ConnectionManagerUtility::mutateXfccRequestHeader): only an mTLS
// connection may carry the header on; the details of the current hop are
// `By=<our URI SAN>;Hash=<sha256 of the peer cert>` then, in this order,
// Cert, Chain, Subject, URI, DNS.
import type { HttpConnectionManager } from "@weft/xds-api/gen/envoy/extensions/filters/network/http_connection_manager/v3/http_connection_manager_pb.js";
import type { DownstreamTls } from "../listener/conn-info.js";
import { utf8WireString } from "../http/wire-string.js";

export type ForwardClientCert = "SANITIZE" | "FORWARD_ONLY" | "APPEND_FORWARD" | "SANITIZE_SET" | "ALWAYS_FORWARD_ONLY";
export type ClientCertDetail = "Cert" | "Chain" | "Subject" | "URI" | "DNS";

export interface XfccConfig {
  mode: ForwardClientCert;
  details: ClientCertDetail[];
}

const MODES: ForwardClientCert[] = ["SANITIZE", "FORWARD_ONLY", "APPEND_FORWARD", "SANITIZE_SET", "ALWAYS_FORWARD_ONLY"];

export function compileXfcc(hcm: Pick<HttpConnectionManager, "forwardClientCertDetails" | "setCurrentClientCertDetails">): XfccConfig {
  const s = hcm.setCurrentClientCertDetails;
  const details: ClientCertDetail[] = [];
  if (s?.cert) details.push("Cert");
  if (s?.chain) details.push("Chain");
  if (s?.subject) details.push("Subject");
  if (s?.uri) details.push("URI");
  if (s?.dns) details.push("DNS");
  return { mode: MODES[hcm.forwardClientCertDetails] ?? "SANITIZE", details };
}

/** The current hop's element of the XFCC header. */
export function clientCertDetails(tls: DownstreamTls, details: readonly ClientCertDetail[]): string {
  const out: string[] = [];
  if (tls.localUriSan) out.push(`By=${tls.localUriSan}`);
  if (tls.peerCertSha256) out.push(`Hash=${tls.peerCertSha256}`);
  for (const d of details) {
    switch (d) {
      case "Cert":
        out.push(`Cert="${encodeURIComponent(tls.peerCertPem ?? "")}"`);
        break;
      case "Chain":
        out.push(`Chain="${encodeURIComponent(tls.peerChainPem ?? tls.peerCertPem ?? "")}"`);
        break;
      case "Subject":
        // A subject is text (a CN may be "José"); the header carries its UTF-8 bytes, as Envoy's does.
        out.push(`Subject="${utf8WireString(tls.peerSubject)}"`);
        break;
      case "URI":
        out.push(`URI=${tls.peerUriSan ?? ""}`);
        break;
      case "DNS":
        for (const dns of tls.peerDnsSans) out.push(`DNS=${dns}`);
        break;
    }
  }
  return out.join(";");
}

/** Mutates the request's x-forwarded-client-cert in place. */
export function applyXfcc(headers: Record<string, string | string[] | undefined>, tls: DownstreamTls | undefined, cfg: XfccConfig): void {
  if (cfg.mode === "ALWAYS_FORWARD_ONLY") return;
  // Without a verified client certificate nobody vouches for the header: drop it whatever the mode.
  if (!tls?.peerCertSha256) {
    delete headers["x-forwarded-client-cert"];
    return;
  }
  switch (cfg.mode) {
    case "FORWARD_ONLY":
      return;
    case "SANITIZE":
      delete headers["x-forwarded-client-cert"];
      return;
    case "APPEND_FORWARD": {
      const cur = headers["x-forwarded-client-cert"];
      const mine = clientCertDetails(tls, cfg.details);
      const prev = typeof cur === "string" ? cur : cur?.join(",");
      headers["x-forwarded-client-cert"] = prev ? `${prev},${mine}` : mine;
      return;
    }
    case "SANITIZE_SET":
      headers["x-forwarded-client-cert"] = clientCertDetails(tls, cfg.details);
      return;
  }
}
