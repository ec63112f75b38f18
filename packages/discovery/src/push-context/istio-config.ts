// The Istio config store of one push: VirtualServices, DestinationRules,
// Gateways, Sidecars (and the security/telemetry kinds, kept for later
// generators), ordered as istiod orders them (creationTimestamp, then
// namespace/name) so "first wins" rules are stable.
import type { ConfigObject } from "../contracts.js";
import { isObject, type Json } from "../source/field-checker.js";

export interface IstioConfig {
  kind: string;
  name: string;
  namespace: string;
  spec: Json;
  origin: string;
  labels: Readonly<Record<string, string>>;
  /** `/apis/networking.istio.io/v1alpha3/namespaces/<ns>/virtual-service/<name>`, as istiod puts in route metadata. */
  configPath: string;
  /** metadata.creationTimestamp, when given (EnvoyFilter order uses it after priority). */
  creationTimestamp?: string;
}

const PATH_KIND: Record<string, string> = {
  VirtualService: "virtual-service",
  DestinationRule: "destination-rule",
  Gateway: "gateway",
  Sidecar: "sidecar",
  EnvoyFilter: "envoy-filter",
  ServiceEntry: "service-entry",
  WorkloadEntry: "workload-entry",
};

export interface IstioStore {
  virtualServices: IstioConfig[];
  destinationRules: IstioConfig[];
  gateways: IstioConfig[];
  sidecars: IstioConfig[];
  other: IstioConfig[];
}

export function buildIstioStore(objects: readonly ConfigObject[]): IstioStore {
  const store: IstioStore = { virtualServices: [], destinationRules: [], gateways: [], sidecars: [], other: [] };
  const sorted = [...objects].sort((a, b) => {
    const ta = a.metadata.creationTimestamp ?? "";
    const tb = b.metadata.creationTimestamp ?? "";
    if (ta !== tb) return ta < tb ? -1 : 1;
    return `${a.metadata.namespace}/${a.metadata.name}`.localeCompare(`${b.metadata.namespace}/${b.metadata.name}`);
  });
  for (const o of sorted) {
    if (!o.apiVersion.includes("istio.io")) continue;
    const [group] = o.apiVersion.split("/");
    const c: IstioConfig = {
      kind: o.kind,
      name: o.metadata.name,
      namespace: o.metadata.namespace,
      spec: isObject(o.spec) ? o.spec : {},
      origin: o.origin,
      labels: o.metadata.labels ?? {},
      // istiod writes v1alpha3 in these paths whatever version was applied.
      configPath: `/apis/${group}/v1alpha3/namespaces/${o.metadata.namespace}/${PATH_KIND[o.kind] ?? o.kind.toLowerCase()}/${o.metadata.name}`,
      ...(o.metadata.creationTimestamp ? { creationTimestamp: o.metadata.creationTimestamp } : {}),
    };
    if (o.kind === "VirtualService") store.virtualServices.push(c);
    else if (o.kind === "DestinationRule") store.destinationRules.push(c);
    else if (o.kind === "Gateway") store.gateways.push(c);
    else if (o.kind === "Sidecar") store.sidecars.push(c);
    else store.other.push(c);
  }
  return store;
}

export function exportToOf(c: IstioConfig): string[] {
  return Array.isArray(c.spec.exportTo) ? c.spec.exportTo.filter((e): e is string => typeof e === "string") : ["*"];
}
