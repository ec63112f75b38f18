// Hop-by-hop headers (RFC 9110 §7.6.1) end at this hop: the fixed set, plus
// every header the Connection header names. What goes upstream is re-framed
// by the upstream codec, so Transfer-Encoding and friends never pass through.
import type { Headers } from "./request-context.js";

export const HOP_BY_HOP = new Set(["connection", "keep-alive", "proxy-connection", "transfer-encoding", "upgrade", "te", "http2-settings"]);

// A Connection token may not remove what frames or identifies the message:
// `Connection: content-length` would otherwise turn a sized body into an
// unsized one upstream, `Connection: x-forwarded-for` is answered by the HCM
// re-adding XFF anyway. These survive a Connection token.
const PROTECTED = new Set(["host", "content-length", "content-type", "x-request-id", "x-forwarded-for", "x-forwarded-proto", "x-forwarded-client-cert"]);

export function isHopByHop(name: string): boolean {
  return HOP_BY_HOP.has(name);
}

/**
 * Removes hop-by-hop headers and those named in `connection` (a comma list,
 * case-insensitive). `te: trailers` stays (gRPC needs it end to end; Envoy keeps it),
 * and `expect: 100-continue` is answered here, not forwarded (Envoy's default).
 */
export function stripHopByHop(headers: Headers, connection: string | undefined): void {
  if (connection !== undefined) {
    for (const t of connection.split(",")) {
      const name = t.trim().toLowerCase();
      if (name !== "" && !PROTECTED.has(name) && name !== "te") delete headers[name];
    }
  }
  for (const name of HOP_BY_HOP) {
    const v = headers[name];
    if (v === undefined) continue;
    if (name === "te") {
      const keep = String(v)
        .split(",")
        .map((s) => s.trim().toLowerCase())
        .some((s) => s === "trailers");
      if (keep) {
        headers.te = "trailers";
        continue;
      }
    }
    delete headers[name];
  }
  const expect = headers["expect"];
  if (typeof expect === "string" && expect.toLowerCase() === "100-continue") delete headers["expect"];
}
