// hash_policy cookie with a ttl (Istio's DestinationRule consistentHash
// httpCookie with a ttl): when the request has no such cookie, Envoy makes
// one, hashes it and sets it on the response, so the client's next requests
// carry it and reach the same host. Like Envoy's, the value is a hash of the
// connection's two addresses, so requests racing on one connection get the
// same cookie, and the Set-Cookie line is Envoy's:
//   name="value"; Max-Age=N; Path=p; attr=v; HttpOnly
import type { RequestContext } from "../http/request-context.js";
import { hash32 } from "../upstream/hash.js";
import type { GeneratedCookie } from "./route-action.js";

/** Makes the cookie, adds its Set-Cookie to the response (once per request) and returns its value. */
export function setHashCookie(ctx: RequestContext, name: string, c: GeneratedCookie): string {
  const conn = `${ctx.downstreamRemoteIp}:${ctx.downstreamRemotePort}${ctx.downstreamLocalAddress}`;
  const value = hex8(hash32(conn)) + hex8(hash32(conn, 0x9e3779b9));
  let line = `${name}="${value}"`;
  if (c.ttlSeconds > 0) line += `; Max-Age=${c.ttlSeconds}`;
  if (c.path) line += `; Path=${c.path}`;
  for (const a of c.attributes) line += a.value ? `; ${a.name}=${a.value}` : `; ${a.name}`;
  line += "; HttpOnly";
  const extra = (ctx.extraResponseHeaders ??= {});
  const prev = extra["set-cookie"];
  extra["set-cookie"] = prev === undefined ? line : [...(typeof prev === "string" ? [prev] : prev), line];
  return value;
}

function hex8(n: number): string {
  return n.toString(16).padStart(8, "0");
}
