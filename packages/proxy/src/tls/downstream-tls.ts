// The DownstreamTlsContext transport socket: terminates TLS on an accepted
// connection after the filter chain was chosen (SNI/ALPN from the ClientHello),
// verifies the client (chain, SANs, Weft's strict rules), records what it
// learned in ConnInfo.tls, then hands the decrypted socket to the chain.
//
// One tls.Server per TLS chain does the handshakes (connections are handed to
// it with emit("connection")): it is what gives server sockets OpenSSL's chain
// verdict (`authorized`) and sockets HTTP/2 sessions can run on. A secret
// rotation swaps its context (setSecureContext) for new handshakes only.
import { X509Certificate } from "node:crypto";
import type { Socket } from "node:net";
import { createServer, type Server, type TLSSocket } from "node:tls";
import type { Logger } from "pino";
import type { ConnInfo, DownstreamTls } from "../listener/conn-info.js";
import { parseClientHello } from "../listener/inspectors.js";
import { peek } from "../listener/peek.js";
import type { LiveTlsContext } from "./live-tls-context.js";
import { checkPeer, leafCrlError } from "./peer-check.js";
import { parsePeerCertificate, type PeerCertificate } from "./peer-certificate.js";
import type { TlsStats } from "./tls-stats.js";

export interface DownstreamTlsOptions {
  live: LiveTlsContext;
  stats: TlsStats;
  logger: Logger;
  /** Give up on a handshake that has not finished by then. */
  handshakeTimeoutMs: number;
  /**
   * FilterChain.transport_socket_connect_timeout: the handshake must finish this long after the
   * connection reached the chain, else it is closed and `onConnectTimeout` counts it
   * (listener downstream_cx_transport_socket_connect_timeout).
   */
  connectTimeoutMs?: number;
  onConnectTimeout?: () => void;
}

export interface DownstreamTlsTerminator {
  /** Calls `onSecure` with the TLS socket once the peer is accepted; otherwise closes the connection. */
  accept(raw: Socket, conn: ConnInfo, onSecure: (s: TLSSocket) => void): void;
  close(): void;
}

interface Pending {
  conn: ConnInfo;
  raw: Socket;
  onSecure: (s: TLSSocket) => void;
}

const tupleOf = (s: { remoteAddress?: string; remotePort?: number; localAddress?: string; localPort?: number }) =>
  `${s.remoteAddress}|${s.remotePort}|${s.localAddress}|${s.localPort}`;

export function createDownstreamTls(o: DownstreamTlsOptions): DownstreamTlsTerminator {
  const { stats, live } = o;
  const spec = live.spec;
  // Two servers: with our ALPN list, and without ALPN for a client offering none of it. Node turns a
  // failed ALPN match into a fatal alert; Envoy (BoringSSL) just negotiates no protocol, and Istio's
  // TCP mTLS offers only istio-peer-exchange/istio to chains that list h2/http/1.1.
  const servers = new Map<boolean, { server: Server; generation: number }>();
  // Per-connection state, found again from the server's TLS socket (its underlying socket, else the 4-tuple).
  const pending = new Map<Socket, Pending>();
  const connectTimers = new WeakMap<Socket, NodeJS.Timeout>();

  function armConnectTimeout(raw: Socket, conn: ConnInfo): void {
    const ms = o.connectTimeoutMs;
    if (!ms) return;
    const t = setTimeout(() => {
      if (raw.destroyed) return;
      // A stalled handshake, not a refused certificate: the close must not count as a verification failure.
      pending.delete(raw);
      o.onConnectTimeout?.();
      o.logger.debug({ listener: conn.listenerName, remote: conn.remoteAddress, timeoutMs: ms }, "downstream TLS handshake did not finish within transport_socket_connect_timeout");
      raw.destroy();
    }, ms);
    connectTimers.set(raw, t);
    raw.once("close", () => clearTimeout(t));
  }

  function serverFor(withAlpn: boolean): Server | undefined {
    const ctx = live.current();
    if (!ctx) return undefined;
    const cur = servers.get(withAlpn);
    if (cur && cur.generation === ctx.generation) return cur.server;
    if (cur) {
      cur.server.setSecureContext(ctx.contextOptions);
      cur.generation = ctx.generation;
      return cur.server;
    }
    const server = createServer({
      ...ctx.contextOptions,
      requestCert: ctx.validation !== undefined,
      // OpenSSL then refuses a client without a certificate during the handshake (certificate_required),
      // as Envoy does for require_client_certificate, and Node closes one whose chain does not verify.
      rejectUnauthorized: spec.requireClientCert && !ctx.validation?.acceptUntrusted && !ctx.validation?.allowExpired,
      ALPNProtocols: withAlpn && spec.alpn.length ? spec.alpn : undefined,
      handshakeTimeout: o.handshakeTimeoutMs,
    });
    servers.set(withAlpn, { server, generation: ctx.generation });
    server.on("secureConnection", onSecureConnection);
    server.on("tlsClientError", (err: NodeJS.ErrnoException, s: TLSSocket) => {
      const p = take(s);
      // Nothing pending: the close below already counted this connection.
      if (!p) return void s.destroy();
      if (/PEER_DID_NOT_RETURN_A_CERTIFICATE|NO_CERTIFICATE|CERTIFICATE_REQUIRED/i.test(`${err.code} ${err.message}`)) stats.failVerifyNoCert.inc();
      stats.connectionError.inc();
      o.logger.debug({ listener: p.conn.listenerName, remote: p.conn.remoteAddress, reason: err.code ?? err.message }, "downstream TLS handshake failed");
      s.destroy();
      p.raw.destroy();
    });
    return server;
  }

  function take(s: TLSSocket): Pending | undefined {
    const parent = (s as unknown as { _parent?: Socket })._parent;
    let p = parent ? pending.get(parent) : undefined;
    if (!p) {
      const k = tupleOf(s);
      for (const q of pending.values()) if (tupleOf(q.raw) === k) p = q;
    }
    if (p) pending.delete(p.raw);
    return p;
  }

  function refuse(s: TLSSocket, p: Pending, reason: string): void {
    stats.connectionError.inc();
    o.logger.debug({ listener: p.conn.listenerName, remote: p.conn.remoteAddress, reason }, "downstream TLS peer refused");
    s.destroy();
    p.raw.destroy();
  }

  function onSecureConnection(s: TLSSocket): void {
    const p = take(s);
    if (!p) return void s.destroy();
    clearTimeout(connectTimers.get(p.raw));
    const ctx = live.current();
    const v = ctx?.validation;
    let peer: PeerCertificate | undefined;
    // Node loses the peer's chain from getPeerCertificate(true) once getPeerX509Certificate() ran: take the
    // leaf's issuer first when a CRL check will need it.
    const issuer = v?.crls.length ? issuerOf(s) : undefined;
    const x = s.getPeerX509Certificate();
    try {
      peer = x ? parsePeerCertificate(x.raw) : undefined;
    } catch (err) {
      stats.failVerifyError.inc();
      return refuse(s, p, `unparsable peer certificate: ${(err as Error).message}`);
    }
    if (v && (peer || spec.requireClientCert)) {
      const chainError = s.authorized ? undefined : String(s.authorizationError ?? "UNABLE_TO_VERIFY_LEAF_SIGNATURE");
      const crlError = peer && !chainError ? leafCrlError(peer, () => issuer, v) : undefined;
      const verdict = checkPeer(peer, peer ? (chainError ?? crlError) : undefined, v, stats);
      if (!verdict.ok) return refuse(s, p, verdict.reason ?? "peer rejected");
    }
    stats.handshake.inc();
    p.conn.tls = describe(s, peer, ctx?.localUriSan, ctx?.localSubject);
    p.conn.transportProtocol = "tls";
    // Envoy's requested server name comes from the handshake too (no tls_inspector needed): RBAC requested_server_name, %REQUESTED_SERVER_NAME%.
    const sni = (s as TLSSocket & { servername?: string | false }).servername;
    if (!p.conn.sni && typeof sni === "string" && sni) p.conn.sni = sni;
    // The negotiated protocol decides the codec (h2 or HTTP/1.1); without ALPN the HCM sniffs.
    p.conn.alpn = s.alpnProtocol || undefined;
    p.onSecure(s);
  }

  function accept(raw: Socket, conn: ConnInfo, onSecure: (s: TLSSocket) => void): void {
    if (spec.alpn.length > 0 && conn.alpnOffered === undefined) {
      // No tls_inspector ran: read the ClientHello's ALPN ourselves to pick the server.
      void peek(raw, (b) => parseClientHello(b).kind !== "need_more", o.handshakeTimeoutMs).then(({ buf }) => {
        const hello = parseClientHello(buf);
        conn.alpnOffered = hello.kind === "tls" ? hello.alpn : [];
        if (!raw.destroyed) accept(raw, conn, onSecure);
      });
      return;
    }
    const overlap = spec.alpn.length > 0 && (conn.alpnOffered ?? []).some((p) => spec.alpn.includes(p));
    const srv = serverFor(overlap);
    if (!srv) {
      // The listener warms until its secrets arrive; this is a secret removed since. Never fall back to plaintext.
      stats.noCertificate.inc();
      stats.connectionError.inc();
      raw.destroy();
      return;
    }
    if (spec.requireSni && !conn.sni) {
      stats.connectionError.inc();
      raw.destroy();
      return;
    }
    pending.set(raw, { conn, raw, onSecure });
    raw.once("close", () => {
      if (!pending.delete(raw)) return;
      // Closed before 'secureConnection' without a tlsClientError: Node refused the client's chain.
      stats.failVerifyError.inc();
      stats.connectionError.inc();
      o.logger.debug({ listener: conn.listenerName, remote: conn.remoteAddress }, "downstream TLS client certificate chain did not verify");
    });
    srv.emit("connection", raw);
  }

  return {
    accept(raw, conn, onSecure) {
      armConnectTimeout(raw, conn);
      accept(raw, conn, onSecure);
    },
    close() {
      pending.clear();
      for (const s of servers.values()) s.server.close();
      servers.clear();
    },
  };
}

/** The leaf's issuer as Node completes the chain (from the peer's chain or our trust store). */
function issuerOf(s: TLSSocket): X509Certificate | undefined {
  const i = s.getPeerCertificate(true)?.issuerCertificate;
  return i?.raw ? new X509Certificate(i.raw) : undefined;
}

function describe(s: TLSSocket, peer: PeerCertificate | undefined, localUriSan: string | undefined, localSubject: string | undefined): DownstreamTls {
  let chain: string | undefined;
  if (peer) {
    const parts: string[] = [];
    let c = s.getPeerCertificate(true);
    const seen = new Set<string>();
    while (c && c.raw && !seen.has(c.fingerprint256)) {
      seen.add(c.fingerprint256);
      parts.push(`-----BEGIN CERTIFICATE-----\n${c.raw.toString("base64").replace(/(.{64})/g, "$1\n").replace(/\n$/, "")}\n-----END CERTIFICATE-----\n`);
      c = c.issuerCertificate;
    }
    chain = parts.join("");
  }
  return {
    peerUriSan: peer?.uriSans.length === 1 ? peer.uriSans[0] : undefined,
    peerDnsSans: peer?.dnsSans ?? [],
    peerSubject: peer?.subject ?? "",
    peerCertSha256: peer?.sha256Hex,
    peerCertPem: peer?.pem,
    peerChainPem: chain,
    peerNotBefore: peer?.notBefore,
    peerNotAfter: peer?.notAfter,
    localUriSan,
    localSubject,
    version: s.getProtocol() ?? "",
    cipher: s.getCipher()?.standardName ?? "",
    alpn: s.alpnProtocol || undefined,
  };
}
