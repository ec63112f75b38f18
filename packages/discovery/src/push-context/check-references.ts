// Cross-object checks istiod leaves to `istioctl analyze` (IST0101
// ReferencedResourceNotFound): a VirtualService destination naming a subset
// that no DestinationRule for that host defines. We report it as a ConfigError
// naming the field, and — like Istio — still generate the route: its share of
// traffic goes to the missing `outbound|port|subset|host` cluster and fails
// with 503 (NC) rather than silently shifting to the other destinations, which
// would break the weights the user asked for in a canary.
import type { ConfigError } from "../contracts.js";
import { isObject } from "../source/field-checker.js";
import type { Registry } from "../model/types.js";
import { exportedTo, hostMatches, qualifyHost } from "./hosts.js";
import { exportToOf, type IstioConfig, type IstioStore } from "./istio-config.js";

export function checkSubsetReferences(registry: Registry, istio: IstioStore, options: { domain: string; rootNamespace: string }): ConfigError[] {
  const errors: ConfigError[] = [];
  const subsetsFor = (host: string, ns: string): { dr?: IstioConfig; subsets: Set<string> } => {
    const subsets = new Set<string>();
    let found: IstioConfig | undefined;
    for (const dr of istio.destinationRules) {
      const drHost = typeof dr.spec.host === "string" ? qualifyHost(dr.spec.host, dr.namespace, options.domain) : "";
      if (!hostMatches(drHost, host)) continue;
      if (dr.namespace !== ns && !exportedTo(exportToOf(dr), dr.namespace, ns)) continue;
      found ??= dr;
      for (const s of Array.isArray(dr.spec.subsets) ? dr.spec.subsets : []) if (isObject(s) && typeof s.name === "string") subsets.add(s.name);
    }
    return { dr: found, subsets };
  };
  for (const vs of istio.virtualServices) {
    for (const kind of ["http", "tcp", "tls"]) {
      const routes = Array.isArray(vs.spec[kind]) ? (vs.spec[kind] as unknown[]) : [];
      routes.forEach((r, i) => {
        if (!isObject(r)) return;
        const dests: Array<[unknown, string]> = (Array.isArray(r.route) ? r.route : []).map((d, j) => [isObject(d) ? d.destination : undefined, `spec.${kind}[${i}].route[${j}].destination`]);
        if (isObject(r.mirror)) dests.push([r.mirror, `spec.${kind}[${i}].mirror`]);
        if (Array.isArray(r.mirrors)) r.mirrors.forEach((m, j) => isObject(m) && dests.push([m.destination, `spec.${kind}[${i}].mirrors[${j}].destination`]));
        for (const [d, field] of dests) {
          if (!isObject(d) || typeof d.subset !== "string" || typeof d.host !== "string") continue;
          const host = qualifyHost(d.host, vs.namespace, options.domain);
          const { dr, subsets } = subsetsFor(host, vs.namespace);
          if (subsets.has(d.subset)) continue;
          const known = registry.byHost.has(host) ? "" : ` (and host ${host} is not in the registry)`;
          errors.push({
            origin: vs.origin,
            object: `VirtualService ${vs.namespace}/${vs.name}`,
            field: `${field}.subset`,
            reason: dr
              ? `subset ${JSON.stringify(d.subset)} is not defined in DestinationRule ${dr.namespace}/${dr.name} for host ${host} (it has ${[...subsets].join(", ") || "no subsets"})${known}; this destination's share of traffic fails with 503 until it is defined`
              : `subset ${JSON.stringify(d.subset)} needs a DestinationRule for host ${host}, and there is none${known}; this destination's share of traffic fails with 503 until one defines it`,
          });
        }
      });
    }
  }
  return errors;
}
