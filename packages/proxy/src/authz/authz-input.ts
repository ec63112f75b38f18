// What the RBAC matchers read, for both the HTTP filter (a request on a
// connection) and the network filter (a connection only). Matchers take the
// connection and the request (undefined for the network filter) directly, so
// evaluating a policy allocates nothing.
import type { ConnInfo } from "../listener/conn-info.js";
import type { RequestContext } from "../http/request-context.js";

export type AuthzMatch = (conn: ConnInfo, req: RequestContext | undefined) => boolean;

// Connection-level filter state (Envoy's connection StreamInfo filter state),
// written by network filters such as Istio's istio_authn (`io.istio.peer_principal`).
// Kept beside the ConnInfo rather than on it: only the authz filters use it.
const connState = new WeakMap<ConnInfo, Map<string, string>>();

export function setConnFilterState(conn: ConnInfo, key: string, value: string): void {
  let m = connState.get(conn);
  if (!m) connState.set(conn, (m = new Map()));
  m.set(key, value);
}

/** Filter state by key: the request's own first, then the connection's (Envoy shares connection state with its streams). */
export function filterStateValue(conn: ConnInfo, req: RequestContext | undefined, key: string): unknown {
  const fs = req?.info.filterState;
  if (fs && key in fs) return fs[key];
  return connState.get(conn)?.get(key);
}

/** Dynamic metadata namespace of the request (undefined for connections). */
export function metadataOf(req: RequestContext | undefined, filter: string): Record<string, unknown> | undefined {
  return req?.info.dynamicMetadata?.[filter];
}

export function setMetadata(req: RequestContext, filter: string, values: Record<string, unknown>): void {
  const md = (req.info.dynamicMetadata ??= {});
  const ns = (md[filter] ??= {});
  Object.assign(ns, values);
}

/** `ip` from `ip:port` or `[v6]:port`; the input itself when it has no port. */
export function ipOf(address: string): string {
  if (address.startsWith("[")) return address.slice(1, address.indexOf("]"));
  const c = address.lastIndexOf(":");
  if (c < 0 || address.indexOf(":") !== c) return address;
  return address.slice(0, c);
}

export function portOf(address: string): number {
  const c = address.lastIndexOf(":");
  if (c < 0) return 0;
  const n = Number(address.slice(c + 1));
  return Number.isInteger(n) ? n : 0;
}
