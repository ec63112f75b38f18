// Envoy's ssl.* stats under a listener (`listener.<addr>.ssl.`) or a cluster
// (`cluster.<name>.ssl.`) prefix.
import type { Counter, StatsStore } from "../contracts.js";

export interface TlsStats {
  handshake: Counter;
  connectionError: Counter;
  failVerifyError: Counter;
  failVerifySan: Counter;
  failVerifyNoCert: Counter;
  failVerifyCertHash: Counter;
  noCertificate: Counter;
}

export function createTlsStats(store: StatsStore, prefix: string): TlsStats {
  const p = `${prefix}ssl.`;
  return {
    handshake: store.counter(p + "handshake"),
    connectionError: store.counter(p + "connection_error"),
    failVerifyError: store.counter(p + "fail_verify_error"),
    failVerifySan: store.counter(p + "fail_verify_san"),
    failVerifyNoCert: store.counter(p + "fail_verify_no_cert"),
    failVerifyCertHash: store.counter(p + "fail_verify_cert_hash"),
    noCertificate: store.counter(p + "no_certificate"),
  };
}

/** Envoy's transport failure text for a TLS error (`TLS_error:|<code>:<reason>:TLS_error_end`). */
export function tlsFailureReason(err: unknown): string {
  const e = err as { code?: string; message?: string; reason?: string };
  const what = e.reason ?? e.message ?? String(err);
  return `TLS_error:|${e.code ?? "TLS_ERROR"}:${what}:TLS_error_end`;
}
