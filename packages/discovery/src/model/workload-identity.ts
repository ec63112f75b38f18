// How Istio names a workload and places it: the `istio.workload` endpoint
// metadata (`<workload>;<namespace>;<canonical service>;<canonical revision>;<cluster>`)
// and its locality (region/zone/subzone).
import type { Labels } from "./labels.js";
import type { Locality } from "./types.js";

export function localityOf(labels: Labels | undefined, zone?: string): Locality {
  // `istio-locality: region.zone.subzone` (Istio's pod label) wins, then the
  // well-known topology labels, then the EndpointSlice's zone.
  const l = labels?.["istio-locality"];
  if (l) {
    const [region = "", z = "", subzone = ""] = l.split(/[./]/);
    return { region, zone: z, subzone };
  }
  return {
    region: labels?.["topology.kubernetes.io/region"] ?? "",
    zone: labels?.["topology.kubernetes.io/zone"] ?? zone ?? "",
    subzone: labels?.["topology.istio.io/subzone"] ?? "",
  };
}

/**
 * The workload a Pod belongs to: a ReplicaSet's pods are named
 * `<deployment>-<pod-template-hash>-<suffix>`, and Istio reports the Deployment.
 */
export function workloadName(name: string, labels: Labels): string {
  const hash = labels["pod-template-hash"];
  if (hash) {
    const i = name.lastIndexOf(`-${hash}-`);
    if (i > 0) return name.slice(0, i);
  }
  return name;
}

export function workloadId(w: { name: string; namespace: string; labels: Labels }): string {
  const name = workloadName(w.name, w.labels);
  const service = w.labels["service.istio.io/canonical-name"] ?? w.labels["app.kubernetes.io/name"] ?? w.labels.app ?? name;
  const revision = w.labels["service.istio.io/canonical-revision"] ?? w.labels["app.kubernetes.io/version"] ?? w.labels.version ?? "latest";
  return `${name};${w.namespace};${service};${revision};Kubernetes`;
}
