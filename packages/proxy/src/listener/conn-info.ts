// What the listener learned about a downstream connection before handing it to
// the network filters.
export interface ConnInfo {
  remoteIp: string;
  remotePort: number;
  /** `ip:port` the client connected to (after original_dst: the original destination). */
  localAddress: string;
  remoteAddress: string;
  /** Original destination `ip:port` from SO_ORIGINAL_DST, when known. */
  originalDst?: string;
  /** SNI from tls_inspector. */
  sni?: string;
  /** ALPN protocols offered in the ClientHello (tls_inspector) or "h2"/"http/1.1" from http_inspector. */
  alpn?: string;
  alpnOffered?: string[];
  /** "tls" or "raw_buffer". */
  transportProtocol: string;
  /** Listener name, for logs. */
  listenerName: string;
  /** Set once this proxy terminated TLS on the connection (the filter chain's DownstreamTlsContext). */
  tls?: DownstreamTls;
  /**
   * The listener's per_connection_buffer_limit_bytes (default 1 MiB; Infinity when set to 0): the
   * most a codec may buffer for this connection in one direction before it stops reading the
   * other side (Envoy's high watermark; resume at half, the low watermark). Always set by the
   * listener; absent only in hand-built test connections (read it as 1 MiB then).
   */
  bufferLimitBytes?: number;
}

/**
 * What the TLS transport socket learned in the handshake. The RBAC filters
 * (source.principal), XFCC (forward_client_cert_details) and access logs read it.
 */
export interface DownstreamTls {
  /** The peer certificate's URI SAN (a SPIFFE id), when it presented exactly one. */
  peerUriSan?: string;
  peerDnsSans: string[];
  /** The peer certificate's subject as Envoy prints it (RFC 2253), "" when none. */
  peerSubject: string;
  /** Lower-case hex SHA-256 of the peer certificate's DER (XFCC `Hash=`). */
  peerCertSha256?: string;
  /** The peer certificate as PEM, for %DOWNSTREAM_PEER_CERT% / XFCC `Cert=`. */
  peerCertPem?: string;
  /** The peer's chain as PEM (leaf first), for XFCC `Chain=`. */
  peerChainPem?: string;
  /** The peer certificate's validity, for %DOWNSTREAM_PEER_CERT_V_START/END%. */
  peerNotBefore?: Date;
  peerNotAfter?: Date;
  /** Our certificate's subject (RFC 2253), for %DOWNSTREAM_LOCAL_SUBJECT%. */
  localSubject?: string;
  /** Our own certificate's URI SAN (XFCC `By=`). */
  localUriSan?: string;
  /** `TLSv1.3`, `TLSv1.2`. */
  version: string;
  cipher: string;
  /** The negotiated ALPN protocol. */
  alpn?: string;
}
