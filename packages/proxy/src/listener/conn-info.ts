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
}
