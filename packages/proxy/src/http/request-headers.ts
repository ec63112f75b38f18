// What Envoy's connection manager does to request headers before routing:
// x-forwarded-for / -proto, x-envoy-external-address and internal header
// sanitizing (use_remote_address, xff_num_trusted_hops), x-request-id, and B3.
import { isIP } from "node:net";
import { applyXfcc } from "../tls/xfcc.js";
import type { HcmConfig } from "./compile-hcm.js";
import type { RequestContext } from "./request-context.js";
import { randomHex64, randomRequestId } from "./request-id.js";
import { stripEnvoyInternalHeaders } from "./sanitize-envoy-headers.js";

/** RFC 1918, loopback and unique-local addresses: Envoy's classic internal address set. */
export function isInternalAddress(ip: string): boolean {
  if (ip.startsWith("::ffff:")) ip = ip.slice(7);
  if (ip === "::1" || ip.startsWith("127.") || ip.startsWith("10.") || ip.startsWith("192.168.")) return true;
  if (ip.startsWith("172.")) {
    const second = Number(ip.split(".")[1]);
    return second >= 16 && second <= 31;
  }
  return /^f[cd][0-9a-f]{2}:/i.test(ip);
}

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
  let trusted: string;
  const xffHeader = h["x-forwarded-for"];
  if (hcm.useRemoteAddress) {
    const xff = xffHeader === undefined ? NO_XFF : xffList(xffHeader);
    // With trusted hops the client is N from the right of the existing XFF.
    trusted = hcm.xffNumTrustedHops > 0 && xff.length >= hcm.xffNumTrustedHops ? xff[xff.length - hcm.xffNumTrustedHops] : remote;
    if (!hcm.skipXffAppend) {
      const cur = h["x-forwarded-for"];
      h["x-forwarded-for"] = cur === undefined ? remote : `${typeof cur === "string" ? cur : cur.join(",")},${remote}`;
    }
    // Envoy: an untrusted prior hop's x-forwarded-proto is overwritten with the connection's own (TLS or not).
    if (hcm.xffNumTrustedHops === 0 || h["x-forwarded-proto"] === undefined) h["x-forwarded-proto"] = connectionScheme(ctx);
  } else {
    const xff = xffHeader === undefined ? NO_XFF : xffList(xffHeader);
    const idx = xff.length - 1 - hcm.xffNumTrustedHops;
    trusted = idx >= 0 ? xff[idx] : remote;
    if (h["x-forwarded-proto"] === undefined) h["x-forwarded-proto"] = connectionScheme(ctx);
  }
  // Envoy's downstream remote address is the XFF-derived client when that is an IP
  // (RBAC remote_ip, %DOWNSTREAM_REMOTE_ADDRESS%); the peer stays the direct remote address.
  if (trusted !== remote && isIP(trusted)) ctx.info.downstreamRemoteAddress = isIP(trusted) === 6 ? `[${trusted}]:0` : `${trusted}:0`;
  const internal = isInternalAddress(trusted);
  ctx.external = hcm.useRemoteAddress && !internal;
  if (hcm.useRemoteAddress) {
    if (ctx.external) {
      stripEnvoyInternalHeaders(h, internalOnly);
      h["x-envoy-external-address"] = trusted;
    } else {
      h["x-envoy-internal"] = "true";
      delete h["x-envoy-external-address"];
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
