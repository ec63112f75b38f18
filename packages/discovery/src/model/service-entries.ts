// ServiceEntry → one MeshService per host. Resolution maps to Envoy cluster
// types as istiod does: STATIC → EDS (endpoints pushed over EDS), DNS /
// DNS_ROUND_ROBIN → STRICT_DNS / LOGICAL_DNS, NONE → ORIGINAL_DST passthrough.
import type { ConfigObject } from "../contracts.js";
import { isObject, type Json } from "../source/field-checker.js";
import { localityOf, workloadId } from "./workload-identity.js";
import { matchLabels, type Labels } from "./labels.js";
import { resolveProtocol } from "./protocol.js";
import type { MeshEndpoint, MeshService, Resolution, ServicePort, Workload } from "./types.js";

const arr = (v: unknown): unknown[] => (Array.isArray(v) ? v : []);

export function buildServiceEntries(objects: readonly ConfigObject[], workloads: readonly Workload[]): MeshService[] {
  const out: MeshService[] = [];
  for (const o of objects) {
    if (o.kind !== "ServiceEntry" || !isObject(o.spec)) continue;
    const spec = o.spec;
    const ns = o.metadata.namespace;
    const ports: ServicePort[] = arr(spec.ports)
      .filter(isObject)
      .map((p) => ({
        name: typeof p.name === "string" ? p.name : "",
        port: p.number as number,
        protocol: resolveProtocol(undefined, undefined, typeof p.protocol === "string" ? p.protocol : "TCP"),
        ...(typeof p.targetPort === "number" ? { targetPort: p.targetPort } : {}),
      }));
    const mode = typeof spec.resolution === "string" ? spec.resolution : "NONE";
    const resolution: Resolution = mode === "STATIC" ? "EDS" : mode === "DNS" ? "DNS" : mode === "DNS_ROUND_ROBIN" ? "DNS_ROUND_ROBIN" : "PASSTHROUGH";
    const addresses = arr(spec.addresses).filter((a): a is string => typeof a === "string");
    const vip = addresses.find((a) => !a.includes("/") || a.endsWith("/32"))?.replace(/\/32$/, "");
    const selector = isObject(spec.workloadSelector) && isObject(spec.workloadSelector.labels) ? (spec.workloadSelector.labels as Labels) : undefined;
    const exportTo = arr(spec.exportTo).filter((e): e is string => typeof e === "string");
    for (const host of arr(spec.hosts).filter((h): h is string => typeof h === "string")) {
      const endpoints: MeshEndpoint[] = [];
      for (const ep of arr(spec.endpoints).filter(isObject)) {
        const labels = (isObject(ep.labels) ? ep.labels : {}) as Labels;
        for (const sp of ports) {
          const epPorts = isObject(ep.ports) ? (ep.ports as Json) : {};
          const port = (epPorts[sp.name] as number | undefined) ?? (typeof sp.targetPort === "number" ? sp.targetPort : sp.port);
          endpoints.push({
            address: String(ep.address),
            port,
            servicePort: sp.port,
            labels,
            serviceAccount: typeof ep.serviceAccount === "string" ? ep.serviceAccount : "default",
            locality: typeof ep.locality === "string" ? localityOf({ "istio-locality": ep.locality }) : localityOf(labels),
            healthy: true,
            weight: typeof ep.weight === "number" && ep.weight > 0 ? ep.weight : 1,
            workload: workloadId({ name: String(ep.address), namespace: ns, labels }),
            ...(labels["security.istio.io/tlsMode"] === "istio" ? { tlsMode: "istio" } : {}),
          });
        }
      }
      if (selector) {
        for (const w of workloads) {
          if (w.namespace !== ns || !w.ip || w.kind === "Deployment" || !matchLabels(selector, w.labels)) continue;
          for (const sp of ports) {
            const port = w.namedPorts.get(sp.name) ?? (typeof sp.targetPort === "number" ? sp.targetPort : sp.port);
            endpoints.push({ address: w.ip, port, servicePort: sp.port, labels: w.labels, serviceAccount: w.serviceAccount, locality: w.locality, healthy: w.ready, weight: 1, workload: workloadId(w), ...(w.tlsMode ? { tlsMode: w.tlsMode } : {}) });
          }
        }
      }
      // DNS resolution with no endpoints resolves the host itself (istiod's default).
      if ((resolution === "DNS" || resolution === "DNS_ROUND_ROBIN") && endpoints.length === 0 && !host.startsWith("*")) {
        for (const sp of ports) endpoints.push({ address: host, port: typeof sp.targetPort === "number" ? sp.targetPort : sp.port, servicePort: sp.port, labels: {}, serviceAccount: "", locality: localityOf(undefined), healthy: true, weight: 1, workload: "" });
      }
      out.push({
        hostname: host,
        name: host,
        namespace: ns,
        ...(vip ? { vip } : {}),
        ports,
        labels: o.metadata.labels ?? {},
        ...(selector ? { selector } : {}),
        exportTo: exportTo.length > 0 ? exportTo : ["*"],
        kind: "ServiceEntry",
        resolution,
        location: spec.location === "MESH_INTERNAL" ? "MESH_INTERNAL" : "MESH_EXTERNAL",
        endpoints,
        origin: o.origin,
        configPath: `/apis/networking.istio.io/v1/namespaces/${ns}/service-entry/${o.metadata.name}`,
      });
    }
  }
  return out;
}
