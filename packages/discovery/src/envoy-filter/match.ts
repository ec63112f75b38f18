// Does a patch's match select this listener / filter chain / filter / route
// configuration / virtual host / route / cluster? The rules are istiod's
// (pilot/pkg/networking/core/envoyfilter), including its quirks: on the
// virtual listeners (virtualInbound, virtualOutbound) a listener portNumber
// selects filter chains by destination_port instead of the listener's port.
import type { JsonObject, JsonValue } from "@bufbuild/protobuf";
import { isObject } from "../source/field-checker.js";
import type { EnvoyFilterPatch, ResourceContext } from "./types.js";

const VIRTUAL_LISTENERS = new Set(["virtualInbound", "virtualOutbound"]);

const obj = (v: JsonValue | undefined): JsonObject => (isObject(v) ? (v as JsonObject) : {});
const strings = (v: JsonValue | undefined): string[] => (Array.isArray(v) ? v.filter((s): s is string => typeof s === "string") : []);

export function listenerPort(listener: JsonObject): number | undefined {
  const port = obj(obj(listener.address).socket_address).port_value;
  return typeof port === "number" ? port : undefined;
}

export function listenerMatch(listener: JsonObject, p: EnvoyFilterPatch): boolean {
  const m = p.listener;
  if (!m) return true;
  if (m.name && m.name !== listener.name) return false;
  if (p.applyTo !== "LISTENER" && VIRTUAL_LISTENERS.has(String(listener.name))) return true;
  return !m.portNumber || listenerPort(listener) === m.portNumber;
}

export function filterChainMatch(listener: JsonObject, chain: JsonObject, p: EnvoyFilterPatch): boolean {
  const m = p.listener;
  if (!m) return true;
  const fcm = obj(chain.filter_chain_match);
  if (VIRTUAL_LISTENERS.has(String(listener.name)) && m.portNumber && fcm.destination_port !== m.portNumber) return false;
  const want = m.filterChain;
  if (!want) return true;
  if (want.name && want.name !== chain.name) return false;
  if (want.sni && !strings(fcm.server_names).includes(want.sni)) return false;
  if (want.transportProtocol && fcm.transport_protocol !== want.transportProtocol) return false;
  if (want.applicationProtocols) {
    const have = strings(fcm.application_protocols);
    if (!want.applicationProtocols.split(",").every((a) => have.includes(a))) return false;
  }
  return !want.destinationPort || fcm.destination_port === want.destinationPort;
}

/** The network filter name the patch targets, or undefined when it names none. */
export function networkFilterName(p: EnvoyFilterPatch): string | undefined {
  return p.listener?.filterChain?.filter?.name;
}

export function networkFilterMatch(filter: JsonObject, p: EnvoyFilterPatch): boolean {
  const name = networkFilterName(p);
  return name === undefined || filter.name === name;
}

/** The HTTP filter name (subFilter) the patch targets, or undefined. */
export function httpFilterName(p: EnvoyFilterPatch): string | undefined {
  return p.listener?.filterChain?.filter?.subFilter?.name;
}

/** `inbound|8080||` → 8080; `8080` → 8080; anything else → 0 (istiod's ParseSubsetKey / Atoi). */
export function routeConfigPort(name: string): number {
  if (name.startsWith("inbound|")) return Number(name.split("|")[1]) || 0;
  return /^\d+$/.test(name) ? Number(name) : 0;
}

/** Gateway RDS names: `http.8080` or `https.443.<portName>.<gateway>.<ns>` → port, port name, `ns/gateway`. */
function parseGatewayRouteName(name: string): { port: number; portName: string; gateway: string } {
  const parts = name.split(".");
  const port = Number(parts[1]) || 0;
  if (parts[0] === "https" && parts.length >= 5) return { port, portName: parts[2], gateway: `${parts.slice(4).join(".")}/${parts[3]}` };
  return { port, portName: "", gateway: "" };
}

/** For gateways: bind port → the Gateway server ports bound there (80 → 8080 through the Service's targetPort). */
export type GatewayPortMap = ReadonlyMap<number, ReadonlySet<number>>;

export function routeConfigurationMatch(ctx: ResourceContext, rc: JsonObject, p: EnvoyFilterPatch, portMap: GatewayPortMap): boolean {
  const m = p.routeConfiguration;
  if (!m) return true;
  const name = String(rc.name ?? "");
  if (ctx !== "GATEWAY") {
    if (m.portNumber && m.portNumber !== routeConfigPort(name)) return false;
    return !m.name || m.name === name;
  }
  const parsed = parseGatewayRouteName(name);
  if (m.portNumber) {
    const servers = portMap.get(parsed.port);
    if (servers ? !servers.has(m.portNumber) : parsed.port !== m.portNumber) return false;
  }
  if (m.portName && m.portName !== parsed.portName) return false;
  if (m.gateway && m.gateway !== parsed.gateway) return false;
  return !m.name || m.name === name;
}

export function virtualHostMatch(vh: JsonObject, p: EnvoyFilterPatch): boolean {
  const m = p.routeConfiguration?.vhost;
  if (!m) return true;
  if (m.name && m.name !== vh.name) return false;
  return !m.domainName || strings(vh.domains).includes(m.domainName);
}

export function hasRouteMatch(p: EnvoyFilterPatch): boolean {
  return p.routeConfiguration?.vhost?.route !== undefined;
}

const ACTION_FIELD = { ROUTE: "route", REDIRECT: "redirect", DIRECT_RESPONSE: "direct_response" } as const;

export function routeMatch(route: JsonObject, p: EnvoyFilterPatch): boolean {
  const m = p.routeConfiguration?.vhost?.route;
  if (!m) return true;
  if (m.name && m.name !== route.name) return false;
  if (m.action && m.action !== "ANY") return ACTION_FIELD[m.action] in route;
  return true;
}

/** `direction|port|subset|host` (istiod's ParseSubsetKey); other names give no parts. */
function parseClusterName(name: string): { inbound: boolean; port: number; subset: string; host: string } {
  const parts = name.split("|");
  if (parts.length !== 4) return { inbound: false, port: 0, subset: "", host: "" };
  return { inbound: parts[0] === "inbound", port: Number(parts[1]) || 0, subset: parts[2], host: parts[3] };
}

/** `inboundHosts(port)`: the hostnames of the services an inbound cluster serves (its name carries none). */
export function clusterMatch(cluster: JsonObject, p: EnvoyFilterPatch, inboundHosts: (port: number) => readonly string[]): boolean {
  const m = p.cluster;
  if (!m) return true;
  if (m.name) return m.name === cluster.name;
  const parsed = parseClusterName(String(cluster.name ?? ""));
  const hosts = parsed.inbound ? inboundHosts(parsed.port) : [parsed.host];
  if (m.subset && m.subset !== parsed.subset) return false;
  if (m.service && !hosts.includes(m.service)) return false;
  return !m.portNumber || m.portNumber === parsed.port;
}
