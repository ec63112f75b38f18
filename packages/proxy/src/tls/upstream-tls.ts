// The UpstreamTlsContext transport socket: a client TLS connection with the
// cluster's SNI and ALPN, our client certificate, and the server checked by
// the validation context (chain, match_subject_alt_names, Weft's strict leaf
// rules). Envoy does not check the server's hostname unless told to: the SAN
// matchers are the identity check. Shared by the HTTP/1.1 and HTTP/2 pools
// and tcp_proxy.
import { X509Certificate } from "node:crypto";
import * as net from "node:net";
import { connect as tlsConnect, type ConnectionOptions, type PeerCertificate as NodePeerCertificate, type TLSSocket } from "node:tls";
import type { LiveTlsContext } from "./live-tls-context.js";
import { checkPeer, leafCrlError } from "./peer-check.js";
import { parsePeerCertificate, type PeerCertificate } from "./peer-certificate.js";
import { tlsFailureReason, type TlsStats } from "./tls-stats.js";

export interface UpstreamTls {
  live: LiveTlsContext;
  stats: TlsStats;
  /** ALPN to offer (istio.alpn override, the context's alpn_protocols, or the codec's fallback). */
  alpn?: readonly string[];
}

/** Who the two ends of an upstream TLS connection are (istio.stats' client-side principals). */
export interface UpstreamTlsIdentity {
  /** The upstream certificate's URI SAN (a SPIFFE id), when it presented exactly one. */
  peerUriSan?: string;
  /** Our own certificate's URI SAN. */
  localUriSan?: string;
}

// Filled once per connection when its handshake and our checks are done; a WeakMap so the identity
// goes with the socket and the request path never parses a certificate.
const identities = new WeakMap<object, UpstreamTlsIdentity>();

/** Who the ends of an established upstream TLS connection are; undefined for plaintext or before the handshake. */
export function upstreamTlsIdentity(socket: object | undefined): UpstreamTlsIdentity | undefined {
  return socket === undefined ? undefined : identities.get(socket);
}

export interface UpstreamTarget {
  host: string;
  port: number;
  pipe?: string;
  localAddress?: string;
}

/** Marks errors of the TLS layer so the pools report them as connect failures (503 UF). */
export const UPSTREAM_TLS_ERROR = "ERR_WEFT_UPSTREAM_TLS";

export class UpstreamTlsError extends Error {
  override readonly name = "UpstreamTlsError";
  readonly code = UPSTREAM_TLS_ERROR;
  /** Envoy's upstream_transport_failure_reason text. */
  readonly transportFailureReason: string;
  constructor(detail: string, options?: { cause?: unknown }) {
    super(detail, options);
    this.transportFailureReason = tlsFailureReason({ code: (options?.cause as { code?: string } | undefined)?.code ?? "CERTIFICATE_VERIFY_FAILED", message: detail });
  }
}

/** The ALPN list for a pool: override, else the context's, else the codec's own protocol (Envoy's fallback). */
export function alpnFor(tls: UpstreamTls | undefined, protocol: "http1" | "http2" | "tcp"): string[] | undefined {
  const base = tls?.alpn ?? (tls?.live.spec.alpn.length ? tls.live.spec.alpn : undefined);
  if (base) return protocol === "http1" ? base.filter((p) => p !== "h2") : [...base];
  if (protocol === "http2") return ["h2"];
  if (protocol === "http1") return ["http/1.1"];
  return undefined;
}

/**
 * Opens a TLS connection; `socket` is returned at once, `onSecure(err)` fires
 * after the handshake and our checks. A failure destroys the socket with an
 * UpstreamTlsError and counts `ssl.*` stats.
 */
export function connectUpstreamTls(t: UpstreamTarget, tls: UpstreamTls, protocol: "http1" | "http2" | "tcp", onSecure?: (err: UpstreamTlsError | undefined) => void): TLSSocket {
  const ctx = tls.live.current();
  const v = ctx?.validation;
  const stats = tls.stats;
  let verdictReason: string | undefined;
  // The server's leaf as our checks parsed it, kept for the connection's identity.
  let peer: PeerCertificate | undefined;
  const strictInHandshake = !!v?.trustedCa && !v.acceptUntrusted && !v.allowExpired;
  const raw = t.pipe ? net.connect(t.pipe) : undefined;
  // localAddress reaches net.connect at runtime; Node's typings leave it out of tls.ConnectionOptions.
  const options: ConnectionOptions & { localAddress?: string } = {
    socket: raw,
    host: t.pipe ? undefined : t.host,
    port: t.pipe ? undefined : t.port,
    localAddress: t.pipe ? undefined : t.localAddress,
    secureContext: ctx?.secureContext,
    // Envoy sends SNI only when `sni` is set. (Node still sends a DNS host name as SNI when none is given; endpoints are IPs in a mesh.)
    servername: tls.live.spec.sni ?? "",
    ALPNProtocols: alpnFor(tls, protocol),
    // Without a validation context Envoy does not verify the server at all. With a strict one, OpenSSL
    // judges the chain and our checks run inside the handshake; Node skips checkServerIdentity after a
    // chain error, so the lenient options (allow_expired, ACCEPT_UNTRUSTED, no trusted CA) check after it.
    rejectUnauthorized: strictInHandshake,
    checkServerIdentity: (_host: string, cert: NodePeerCertificate) => {
      if (!v || !strictInHandshake) return undefined;
      let parsed;
      try {
        parsed = peer = parsePeerCertificate(cert.raw);
      } catch (err) {
        stats.failVerifyError.inc();
        verdictReason = `unparsable server certificate: ${(err as Error).message}`;
        return new Error(verdictReason);
      }
      const verdict = checkPeer(parsed, leafCrlError(parsed, () => issuerCert(cert), v), v, stats);
      if (verdict.ok) return undefined;
      verdictReason = verdict.reason;
      return new Error(verdict.reason);
    },
  };
  const s = tlsConnect(options);
  if (!ctx) {
    // Secrets not here yet (the cluster is still warming): fail like a handshake failure, never go plaintext.
    process.nextTick(() => s.destroy(new UpstreamTlsError("TLS context not ready: waiting for SDS secrets")));
  }
  let settled = false;
  s.once("secureConnect", () => {
    if (settled) return;
    if (v && !strictInHandshake) {
      let verdict;
      try {
        // Before getPeerX509Certificate(), after which Node's detailed certificate has lost the peer's chain.
        const issuer = v.crls.length ? issuerCert(s.getPeerCertificate(true)) : undefined;
        const x = s.getPeerX509Certificate();
        const chainError = v.trustedCa && !s.authorized ? String(s.authorizationError) : undefined;
        peer = x ? parsePeerCertificate(x.raw) : undefined;
        const crlError = peer && v.trustedCa && !chainError ? leafCrlError(peer, () => issuer, v) : undefined;
        verdict = checkPeer(peer, chainError ?? crlError, v, stats);
      } catch (err) {
        stats.failVerifyError.inc();
        verdict = { ok: false, reason: `unparsable server certificate: ${(err as Error).message}` };
      }
      if (!verdict.ok) {
        verdictReason = verdict.reason;
        // Users of the socket check `destroyed` in their own secureConnect handler; the error settles this one.
        s.destroy(new UpstreamTlsError(verdict.reason ?? "server rejected"));
        return;
      }
    }
    settled = true;
    stats.handshake.inc();
    identities.set(s, identityOf(s, peer, ctx?.localUriSan));
    onSecure?.(undefined);
  });
  s.on("error", (err: NodeJS.ErrnoException) => {
    if (settled) return;
    settled = true;
    if (!(err instanceof UpstreamTlsError) && !verdictReason && isVerifyError(err)) stats.failVerifyError.inc();
    stats.connectionError.inc();
    if (isSocketLevel(err)) {
      onSecure?.(err as UpstreamTlsError);
      return;
    }
    const e = err instanceof UpstreamTlsError ? err : new UpstreamTlsError(verdictReason ?? err.message, { cause: err });
    // Listeners on the socket itself (HTTP/2 sessions, tcp_proxy) see the original error: mark it too.
    (err as { transportFailureReason?: string }).transportFailureReason ??= e.transportFailureReason;
    onSecure?.(e);
  });
  return s;
}

/**
 * The identity of a connection that passed our checks. The leaf is parsed here only when no check
 * did (no validation context, or a resumed session that skipped checkServerIdentity).
 */
function identityOf(s: TLSSocket, checked: PeerCertificate | undefined, localUriSan: string | undefined): UpstreamTlsIdentity {
  let leaf = checked;
  if (leaf === undefined) {
    try {
      const x = s.getPeerX509Certificate();
      leaf = x ? parsePeerCertificate(x.raw) : undefined;
    } catch {
      // A server certificate we cannot read names no one: it is left out of the labels, not an error.
      leaf = undefined;
    }
  }
  // As on the downstream side (DownstreamTls.peerUriSan): a leaf with several URI SANs names no one workload.
  return { peerUriSan: leaf?.uriSans.length === 1 ? leaf.uriSans[0] : undefined, localUriSan };
}

/** The leaf's issuer from Node's detailed peer certificate (the peer's chain completed from our trust store). */
function issuerCert(cert: NodePeerCertificate | undefined): X509Certificate | undefined {
  const i = (cert as { issuerCertificate?: NodePeerCertificate } | undefined)?.issuerCertificate;
  return i?.raw ? new X509Certificate(i.raw) : undefined;
}

function isVerifyError(err: NodeJS.ErrnoException): boolean {
  return /CERT|VERIFY|SELF_SIGNED|ISSUER/i.test(err.code ?? "");
}

/** Plain socket errors (refused, unreachable) keep their own code: they are connect failures, not TLS ones. */
function isSocketLevel(err: NodeJS.ErrnoException): boolean {
  return /^E[A-Z]+$/.test(err.code ?? "") && err.syscall !== undefined;
}
