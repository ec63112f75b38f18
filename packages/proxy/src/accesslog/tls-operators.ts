// Envoy's TLS command operators (%DOWNSTREAM_PEER_URI_SAN%, %DOWNSTREAM_TLS_VERSION%…),
// read from what the downstream handshake recorded. "-" (null) on plaintext connections.
import type { StreamInfo } from "../contracts.js";

type LogValue = string | number | null;

const orNull = (v: string | undefined): string | null => (v === undefined || v === "" ? null : v);

export function tlsOperator(command: string): ((info: StreamInfo) => LogValue) | undefined {
  switch (command) {
    case "DOWNSTREAM_PEER_URI_SAN":
      return (i) => orNull(i.downstreamTls?.peerUriSan);
    case "DOWNSTREAM_LOCAL_URI_SAN":
      return (i) => orNull(i.downstreamTls?.localUriSan);
    case "DOWNSTREAM_PEER_DNS_SAN":
      return (i) => orNull(i.downstreamTls?.peerDnsSans.join(","));
    case "DOWNSTREAM_PEER_SUBJECT":
      return (i) => orNull(i.downstreamTls?.peerSubject);
    case "DOWNSTREAM_LOCAL_SUBJECT":
      return (i) => orNull(i.downstreamTls?.localSubject);
    case "DOWNSTREAM_TLS_VERSION":
      return (i) => orNull(i.downstreamTls?.version);
    case "DOWNSTREAM_TLS_CIPHER":
      return (i) => orNull(i.downstreamTls?.cipher);
    case "DOWNSTREAM_PEER_FINGERPRINT_256":
      return (i) => orNull(i.downstreamTls?.peerCertSha256);
    case "DOWNSTREAM_PEER_CERT":
      return (i) => (i.downstreamTls?.peerCertPem ? encodeURIComponent(i.downstreamTls.peerCertPem) : null);
    case "DOWNSTREAM_PEER_CERT_V_START":
      return (i) => (i.downstreamTls?.peerNotBefore ? i.downstreamTls.peerNotBefore.toISOString() : null);
    case "DOWNSTREAM_PEER_CERT_V_END":
      return (i) => (i.downstreamTls?.peerNotAfter ? i.downstreamTls.peerNotAfter.toISOString() : null);
    default:
      return undefined;
  }
}
