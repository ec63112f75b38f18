// A TLS context spec bound to the secret store: the Node SecureContext for new
// handshakes, rebuilt whenever one of its secrets changes (rotation), plus what
// the handshake code needs to verify peers and describe the connection.
import { createSecureContext, type SecureContext, type SecureContextOptions } from "node:tls";
import type { Logger } from "pino";
import { mergeValidation, type CertificateSecret, type ValidationSecret } from "./compile-secret.js";
import type { TlsContextSpec } from "./compile-tls-context.js";
import { firstCertificateOfPem } from "./peer-certificate.js";
import type { SecretStore } from "./secret-store.js";

export interface ResolvedTls {
  secureContext: SecureContext;
  /** What secureContext was made from (a tls.Server takes options, not a context). */
  contextOptions: SecureContextOptions;
  validation?: ValidationSecret;
  /** Our own certificate's first URI SAN (XFCC By=, %DOWNSTREAM_LOCAL_URI_SAN%). */
  localUriSan?: string;
  localSubject?: string;
  /** Bumped on every rebuild; upstream pools key connections by nothing else. */
  generation: number;
}

export interface LiveTlsContext {
  readonly spec: TlsContextSpec;
  /** True once every secret the context needs has arrived. */
  ready(): boolean;
  /** The context for a new handshake, undefined until ready. */
  current(): ResolvedTls | undefined;
  /** Called after each rebuild (first readiness included). */
  onUpdate(listener: () => void): () => void;
  /** Stops watching the secrets (the listener/cluster using it is gone). */
  release(): void;
}

// createSecureContext costs milliseconds (PEM parsing, a fresh CA store). An Istio sidecar's hundreds
// of outbound clusters share one certificate, root and parameters: they share one context, and a
// rotation builds one new context, not hundreds. Keyed by content; bounded.
const CONTEXT_CACHE_SIZE = 256;
const contextCache = new Map<string, SecureContext>();

function sharedSecureContext(o: SecureContextOptions): SecureContext {
  const key = [o.cert, o.key, o.passphrase, o.ca, o.crl, o.minVersion, o.maxVersion, o.ciphers, o.ecdhCurve].map((v) => (v === undefined ? "" : String(v))).join("\u0000");
  let ctx = contextCache.get(key);
  if (ctx) return ctx;
  ctx = createSecureContext(o);
  if (contextCache.size >= CONTEXT_CACHE_SIZE) contextCache.delete(contextCache.keys().next().value!);
  contextCache.set(key, ctx);
  return ctx;
}

export function createLiveTlsContext(spec: TlsContextSpec, store: SecretStore, log: Logger): LiveTlsContext {
  let resolved: ResolvedTls | undefined;
  let generation = 0;
  const listeners = new Set<() => void>();
  const unwatch: Array<() => void> = [];

  function rebuild(): void {
    let cert: CertificateSecret | undefined;
    if (spec.certificate) {
      if ("inline" in spec.certificate) cert = spec.certificate.inline;
      else {
        const v = store.get(spec.certificate.ref);
        if (v?.kind !== "tls_certificate") return; // not arrived yet (or the wrong kind: keep waiting)
        cert = v;
      }
    }
    let validation: ValidationSecret | undefined;
    if (spec.validation) {
      let dynamic: ValidationSecret | undefined;
      if (spec.validation.ref) {
        const v = store.get(spec.validation.ref);
        if (v?.kind !== "validation_context") return;
        dynamic = v;
      }
      validation = mergeValidation(spec.validation.inline, dynamic);
    }
    if (validation?.crls.length && validation.trustedCa === undefined) {
      // Envoy refuses a CRL without a trusted CA ("Failed to load CRL ... without trusted CA"); fail closed.
      log.error("a validation context has CRLs but no trusted_ca; the TLS context is not built");
      return;
    }
    try {
      const contextOptions: SecureContextOptions = {
        cert: cert?.certChain,
        key: cert?.privateKey,
        passphrase: cert?.password,
        ca: validation?.trustedCa,
        // OpenSSL checks the whole chain against these (CRL_CHECK | CRL_CHECK_ALL, as Envoy sets them); with
        // only_verify_leaf_cert_crl Weft checks the leaf itself (peer-check.ts leafCrlError).
        crl: validation?.crls.length && !validation.onlyLeafCrl ? validation.crls.map((c) => c.pem) : undefined,
        minVersion: spec.minVersion,
        maxVersion: spec.maxVersion,
        ciphers: spec.ciphers,
        ecdhCurve: spec.ecdhCurves,
      };
      const secureContext = sharedSecureContext(contextOptions);
      const own = cert ? firstCertificateOfPem(cert.certChain) : undefined;
      resolved = { secureContext, contextOptions, validation, localUriSan: own?.uriSans[0], localSubject: own?.subject, generation: ++generation };
    } catch (err) {
      // Keep the previous context: a bad rotation must not take down working TLS.
      log.error({ err: (err as Error).message }, "cannot build a TLS context from the current secrets; keeping the previous one");
      return;
    }
    for (const l of [...listeners]) l();
  }

  for (const ref of spec.refs) unwatch.push(store.watch(ref, rebuild));
  rebuild();

  return {
    spec,
    ready: () => resolved !== undefined,
    current: () => resolved,
    onUpdate(l) {
      listeners.add(l);
      return () => listeners.delete(l);
    },
    release() {
      for (const u of unwatch.splice(0)) u();
      listeners.clear();
    },
  };
}
