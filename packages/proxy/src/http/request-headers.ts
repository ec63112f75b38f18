// What Envoy's connection manager does to request headers before routing:
// x-forwarded-for / -proto, x-envoy-external-address and internal header
// sanitizing (use_remote_address, xff_num_trusted_hops), x-request-id, and B3.
import { isIP } from "node:net";
import { applyXfcc } from "../tls/xfcc.js";
import type { HcmConfig } from "./compile-hcm.js";
import type { RequestContext } from "./request-context.js";
import { randomHex64, randomRequestId } from "./request-id.js";
import { stripEnvoyInternalHeaders } from "./sanitize-envoy-headers.js";

/** Envoy's default internal address set (kept for existing importers). */
export { isClassicInternalAddress as isInternalAddress } from "./internal-address.js";

const NO_XFF: readonly string[] = [];

/** Envoy sets x-forwarded-proto from `connection.ssl()`, never from an h2 client's :scheme. */
function connectionScheme(ctx: RequestContext): string {
  return ctx.conn.tls ? "https" : "http";
}

function xffList(v: string | string[]): string[] {
  const s = typeof v === "string" ? v : v.join(",");
  return s.split(",").map((x) => x.trim()).filter(Boolean);
}

export function mutateRequestHeaders(ctx: RequestContext, hcm: HcmConfig, internalOnly: string[] | undefined): void {
  const h = ctx.headers;
  const remote = ctx.downstreamRemoteIp.startsWith("::ffff:") ? ctx.downstreamRemoteIp.slice(7) : ctx.downstreamRemoteIp;
  // Whether the request is internal is the proxy's judgement alone: a client's own x-envoy-internal goes first.
  if (h["x-envoy-internal"] !== undefined) delete h["x-envoy-internal"];
  let trusted: string;
  // Envoy's allow_trusted_address_checks: only a request whose XFF names exactly one address (after
  // our own append) may be internal. A client that sent any XFF of its own is external.
  let singleAddress: boolean;
  const xffHeader = h["x-forwarded-for"];
  if (hcm.useRemoteAddress) {
    singleAddress = xffHeader === undefined;
    const xff = xffHeader === undefined ? NO_XFF : xffList(xffHeader);
    // With trusted hops the client is N from the right of the existing XFF.
    trusted = hcm.xffNumTrustedHops > 0 && xff.length >= hcm.xffNumTrustedHops ? xff[xff.length - hcm.xffNumTrustedHops] : remote;
    // A Unix-socket peer has no address to append (Envoy's appendXff skips non-IP peers).
    if (!hcm.skipXffAppend && remote !== "") {
      const cur = h["x-forwarded-for"];
      h["x-forwarded-for"] = cur === undefined ? remote : `${typeof cur === "string" ? cur : cur.join(",")},${remote}`;
    }
    // Envoy: an untrusted prior hop's x-forwarded-proto is overwritten with the connection's own (TLS or not).
    if (hcm.xffNumTrustedHops === 0 || h["x-forwarded-proto"] === undefined) h["x-forwarded-proto"] = connectionScheme(ctx);
  } else {
    // Envoy's default original-IP detection (XFF with xff_num_trusted_hops).
    const xff = xffHeader === undefined ? NO_XFF : xffList(xffHeader);
    const idx = xff.length - 1 - hcm.xffNumTrustedHops;
    trusted = idx >= 0 ? xff[idx] : remote;
    singleAddress = idx >= 0 && xff.length === 1;
    if (h["x-forwarded-proto"] === undefined) h["x-forwarded-proto"] = connectionScheme(ctx);
  }
  // Envoy's downstream remote address is the XFF-derived client when that is an IP
  // (RBAC remote_ip, %DOWNSTREAM_REMOTE_ADDRESS%); the peer stays the direct remote address.
  if (trusted !== remote && isIP(trusted)) ctx.info.downstreamRemoteAddress = isIP(trusted) === 6 ? `[${trusted}]:0` : `${trusted}:0`;
  const internal = singleAddress && hcm.isInternalAddress(trusted);
  // Envoy's edge request: external and first into the trusted network (use_remote_address).
  ctx.external = hcm.useRemoteAddress && !internal;
  if (internal) {
    h["x-envoy-internal"] = "true";
    if (hcm.useRemoteAddress) delete h["x-envoy-external-address"];
  } else {
    // Envoy cleans every request it does not judge internal, edge or not: on a sidecar
    // (no use_remote_address, no XFF) an app's x-envoy-retry-on or timeout override is dropped.
    stripEnvoyInternalHeaders(h, ctx.external, internalOnly);
    // At the edge a client's own value never survives, even from a peer with no address (a Unix socket).
    if (ctx.external) {
      if (trusted !== "") h["x-envoy-external-address"] = trusted;
      else delete h["x-envoy-external-address"];
    }
  }

  if (hcm.generateRequestId) {
    const cur = h["x-request-id"];
    if (cur === undefined || cur === "" || (ctx.external && !hcm.preserveExternalRequestId)) h["x-request-id"] = randomRequestId();
  }

  applyXfcc(h, ctx.conn.tls, hcm.xfcc);

  if (hcm.tracing) applyB3(ctx, hcm);
}

/**
 * Envoy's Zipkin tracer: a new span per hop. An existing trace continues with
 * parentspanid = incoming spanid; otherwise a new 64-bit trace starts.
 */
function applyB3(ctx: RequestContext, hcm: HcmConfig): void {
  const h = ctx.headers;
  const single = h["b3"];
  if (typeof single === "string" && h["x-b3-traceid"] === undefined) {
    const [traceId, spanId, sampled] = single.split("-");
    if (traceId && spanId) {
      h["x-b3-traceid"] = traceId;
      h["x-b3-spanid"] = spanId;
      if (sampled) h["x-b3-sampled"] = sampled === "d" ? "1" : sampled;
    }
    delete h["b3"];
  }
  const traceId = h["x-b3-traceid"];
  const spanId = h["x-b3-spanid"];
  if (typeof traceId === "string" && traceId) {
    if (typeof spanId === "string" && spanId) h["x-b3-parentspanid"] = spanId;
    h["x-b3-spanid"] = randomHex64();
  } else {
    const id = randomHex64();
    h["x-b3-traceid"] = id;
    h["x-b3-spanid"] = id;
    delete h["x-b3-parentspanid"];
  }
  if (h["x-b3-sampled"] === undefined) {
    h["x-b3-sampled"] = Math.random() * 100 < hcm.tracingSampling ? "1" : "0";
  }
}
