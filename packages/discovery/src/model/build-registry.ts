// ConfigObjects → Registry. Kubernetes semantics for endpoints: EndpointSlices
// win, then a legacy Endpoints object, and where a Service has a selector but
// neither exists (a plain YAML directory), endpoints come from the ready Pods
// it selects, as the EndpointSlice controller would compute them. WorkloadEntries
// are selected by Services too (Istio's cross-selection).
import type { ConfigObject } from "../contracts.js";
import { isObject, type Json } from "../source/field-checker.js";
import { matchLabels, type Labels } from "./labels.js";
import { resolveProtocol } from "./protocol.js";
import type { MeshEndpoint, MeshService, Registry, ServicePort, Workload } from "./types.js";
import { buildServiceEntries } from "./service-entries.js";
import { localityOf, workloadId } from "./workload-identity.js";

const str = (v: unknown): string | undefined => (typeof v === "string" ? v : undefined);
const arr = (v: unknown): unknown[] => (Array.isArray(v) ? v : []);
const obj = (v: unknown): Json => (isObject(v) ? v : {});

function podReady(raw: Json): boolean {
  const status = obj(raw.status);
  if (isObject(raw.metadata) && raw.metadata.deletionTimestamp) return false;
  const conditions = arr(status.conditions).filter(isObject);
  const ready = conditions.find((c) => c.type === "Ready");
  if (ready) return ready.status === "True";
  // A hand-written Pod with an IP and no conditions: treat as ready unless its phase says otherwise.
  return status.phase === undefined || status.phase === "Running";
}

/**
 * Whether auto mTLS may send TLS to a workload: Istio's injector labels a pod
 * `security.istio.io/tlsMode: istio`; in a plain YAML directory (local mode)
 * every Pod gets a sidecar unless `sidecar.istio.io/inject: "false"` (label or
 * annotation) says otherwise. WorkloadEntries only by their label.
 */
export function tlsModeOf(labels: Labels, annotations: Record<string, string> | undefined, pod: boolean): string | undefined {
  const explicit = labels["security.istio.io/tlsMode"];
  if (explicit !== undefined) return explicit === "istio" ? "istio" : undefined;
  if (!pod) return undefined;
  const inject = labels["sidecar.istio.io/inject"] ?? annotations?.["sidecar.istio.io/inject"];
  return inject === "false" ? undefined : "istio";
}

function workloadsOf(objects: readonly ConfigObject[]): Workload[] {
  const out: Workload[] = [];
  for (const o of objects) {
    const spec = obj(o.spec);
    if (o.kind === "Pod") {
      const named = new Map<string, number>();
      for (const c of arr(spec.containers).filter(isObject)) for (const p of arr(c.ports).filter(isObject)) {
        if (typeof p.name === "string" && typeof p.containerPort === "number") named.set(p.name, p.containerPort);
      }
      const labels = o.metadata.labels ?? {};
      const tlsMode = tlsModeOf(labels, o.metadata.annotations, true);
      out.push({ kind: "Pod", name: o.metadata.name, namespace: o.metadata.namespace, ip: str(obj(o.raw.status).podIP), labels, serviceAccount: str(spec.serviceAccountName) ?? str(spec.serviceAccount) ?? "default", ready: podReady(o.raw), namedPorts: named, locality: localityOf(labels), ...(tlsMode ? { tlsMode } : {}) });
    } else if (o.kind === "WorkloadEntry") {
      const labels = (isObject(spec.labels) ? spec.labels : {}) as Labels;
      const ports = new Map(Object.entries(obj(spec.ports)).filter((e): e is [string, number] => typeof e[1] === "number"));
      const loc = str(spec.locality);
      const tlsMode = tlsModeOf(labels, undefined, false);
      out.push({ kind: "WorkloadEntry", name: o.metadata.name, namespace: o.metadata.namespace, ip: str(spec.address), labels, serviceAccount: str(spec.serviceAccount) ?? "default", ready: true, namedPorts: ports, locality: loc ? localityOf({ "istio-locality": loc }) : localityOf(labels), ...(tlsMode ? { tlsMode } : {}) });
    } else if (o.kind === "Deployment") {
      const template = obj(spec.template);
      const labels = (obj(obj(template.metadata).labels) ?? {}) as Labels;
      const tspec = obj(template.spec);
      out.push({ kind: "Deployment", name: o.metadata.name, namespace: o.metadata.namespace, labels, serviceAccount: str(tspec.serviceAccountName) ?? "default", ready: false, namedPorts: new Map(), locality: localityOf(labels) });
    }
  }
  return out;
}

function servicePorts(spec: Json): ServicePort[] {
  return arr(spec.ports)
    .filter(isObject)
    .filter((p) => (p.protocol ?? "TCP") !== "SCTP")
    .map((p) => ({
      name: str(p.name) ?? "",
      port: p.port as number,
      protocol: p.protocol === "UDP" ? "UDP" : resolveProtocol(str(p.name), str(p.appProtocol)),
      ...(p.targetPort !== undefined ? { targetPort: p.targetPort as number | string } : {}),
    }));
}

function targetPortOf(sp: ServicePort, w: Workload | undefined): number | undefined {
  if (sp.targetPort === undefined) return sp.port;
  if (typeof sp.targetPort === "number") return sp.targetPort;
  if (/^\d+$/.test(sp.targetPort)) return Number(sp.targetPort);
  return w?.namedPorts.get(sp.targetPort);
}

function endpoint(address: string, port: number, sp: ServicePort, w: Workload | undefined, ns: string, healthy: boolean, zone?: string): MeshEndpoint {
  const labels = w?.labels ?? {};
  return {
    address,
    port,
    servicePort: sp.port,
    labels,
    serviceAccount: w?.serviceAccount ?? "default",
    locality: w ? w.locality : localityOf(undefined, zone),
    healthy,
    weight: 1,
    workload: workloadId({ name: w?.name ?? address, namespace: ns, labels }),
    ...(w?.tlsMode ? { tlsMode: w.tlsMode } : {}),
  };
}

/** Lookups built once per registry so each Service's endpoints cost O(its own objects). */
interface EndpointIndex {
  slices: Map<string, ConfigObject[]>;
  legacy: Map<string, ConfigObject>;
  workloadsByNs: Map<string, Workload[]>;
  pods: Map<string, Workload>;
  podByIp: Map<string, Workload>;
}

function indexEndpoints(objects: readonly ConfigObject[], workloads: readonly Workload[]): EndpointIndex {
  const idx: EndpointIndex = { slices: new Map(), legacy: new Map(), workloadsByNs: new Map(), pods: new Map(), podByIp: new Map() };
  for (const o of objects) {
    if (o.kind === "EndpointSlice") {
      const svc = o.metadata.labels?.["kubernetes.io/service-name"];
      if (!svc) continue;
      const key = `${o.metadata.namespace}/${svc}`;
      const list = idx.slices.get(key) ?? [];
      list.push(o);
      idx.slices.set(key, list);
    } else if (o.kind === "Endpoints") idx.legacy.set(`${o.metadata.namespace}/${o.metadata.name}`, o);
  }
  for (const w of workloads) {
    const list = idx.workloadsByNs.get(w.namespace) ?? [];
    list.push(w);
    idx.workloadsByNs.set(w.namespace, list);
    if (w.kind !== "Pod") continue;
    idx.pods.set(`${w.namespace}/${w.name}`, w);
    if (w.ip) idx.podByIp.set(`${w.namespace}/${w.ip}`, w);
  }
  return idx;
}

function kubeEndpoints(svc: Json, name: string, ns: string, ports: ServicePort[], idx: EndpointIndex): MeshEndpoint[] {
  const pods = { get: (n: string) => idx.pods.get(`${ns}/${n}`) };
  const podByIp = { get: (ip: string) => idx.podByIp.get(`${ns}/${ip}`) };
  const out: MeshEndpoint[] = [];
  const slices = idx.slices.get(`${ns}/${name}`) ?? [];
  const legacy = idx.legacy.get(`${ns}/${name}`);
  if (slices.length > 0) {
    for (const s of slices) {
      if (s.raw.addressType === "FQDN") continue;
      const slicePorts = arr(s.raw.ports).filter(isObject);
      for (const e of arr(s.raw.endpoints).filter(isObject)) {
        const address = str(arr(e.addresses)[0]);
        if (!address) continue;
        const cond = obj(e.conditions);
        const ready = cond.ready !== false && cond.terminating !== true;
        const ref = obj(e.targetRef);
        const w = (ref.kind === "Pod" ? pods.get(str(ref.name) ?? "") : undefined) ?? podByIp.get(address);
        for (const sp of ports) {
          const p = slicePorts.find((x) => (str(x.name) ?? "") === sp.name);
          if (!p || typeof p.port !== "number") continue;
          out.push(endpoint(address, p.port, sp, w, ns, ready, str(e.zone)));
        }
      }
    }
    return out;
  }
  if (legacy) {
    for (const subset of arr(legacy.raw.subsets).filter(isObject)) {
      const subsetPorts = arr(subset.ports).filter(isObject);
      for (const [key, ready] of [["addresses", true], ["notReadyAddresses", false]] as const) {
        for (const a of arr(subset[key]).filter(isObject)) {
          const ip = str(a.ip);
          if (!ip) continue;
          const ref = obj(a.targetRef);
          const w = (ref.kind === "Pod" ? pods.get(str(ref.name) ?? "") : undefined) ?? podByIp.get(ip);
          for (const sp of ports) {
            const p = subsetPorts.find((x) => (str(x.name) ?? "") === sp.name);
            if (p && typeof p.port === "number") out.push(endpoint(ip, p.port, sp, w, ns, ready));
          }
        }
      }
    }
    return out;
  }
  const selector = isObject(svc.selector) ? (svc.selector as Labels) : undefined;
  if (!selector || Object.keys(selector).length === 0) return out;
  for (const w of idx.workloadsByNs.get(ns) ?? []) {
    if (!w.ip || w.kind === "Deployment" || !matchLabels(selector, w.labels)) continue;
    for (const sp of ports) {
      const port = w.kind === "WorkloadEntry" ? (w.namedPorts.get(sp.name) ?? targetPortOf(sp, undefined)) : targetPortOf(sp, w);
      if (port === undefined) continue;
      out.push(endpoint(w.ip, port, sp, w, ns, w.ready));
    }
  }
  return out;
}

export function buildRegistry(objects: readonly ConfigObject[], domain: string): Registry {
  const workloads = workloadsOf(objects);
  const idx = indexEndpoints(objects, workloads);
  const services: MeshService[] = [];
  const namespaces = new Map<string, Labels>();
  for (const o of objects) {
    if (o.kind === "Namespace") namespaces.set(o.metadata.name, o.metadata.labels ?? {});
    if (o.kind !== "Service") continue;
    const spec = obj(o.spec);
    if (spec.type === "ExternalName") continue; // Istio models these as DNS aliases; not yet
    const ns = o.metadata.namespace;
    const ports = servicePorts(spec);
    const clusterIP = str(spec.clusterIP);
    const headless = clusterIP === "None";
    const exportTo = o.metadata.annotations?.["networking.istio.io/exportTo"];
    services.push({
      hostname: `${o.metadata.name}.${ns}.svc.${domain}`,
      name: o.metadata.name,
      namespace: ns,
      ...(clusterIP && !headless ? { vip: clusterIP } : {}),
      ports,
      labels: o.metadata.labels ?? {},
      ...(isObject(spec.selector) ? { selector: spec.selector as Labels } : {}),
      exportTo: exportTo ? exportTo.split(",").map((s) => s.trim()) : ["*"],
      kind: "Service",
      resolution: headless ? "PASSTHROUGH" : "EDS",
      location: "MESH_INTERNAL",
      endpoints: kubeEndpoints(spec, o.metadata.name, ns, ports, idx),
      origin: o.origin,
      configPath: `/api/v1/namespaces/${ns}/services/${o.metadata.name}`,
    });
  }
  services.push(...buildServiceEntries(objects, workloads));
  for (const s of services) for (const e of s.endpoints) if (!e.workload) e.workload = workloadId({ name: e.address, namespace: s.namespace, labels: e.labels });
  services.sort((a, b) => (a.hostname === b.hostname ? a.namespace.localeCompare(b.namespace) : a.hostname.localeCompare(b.hostname)));
  const byHost = new Map<string, MeshService[]>();
  for (const s of services) {
    const list = byHost.get(s.hostname) ?? [];
    list.push(s);
    byHost.set(s.hostname, list);
  }
  return { services, byHost, workloads, namespaces };
}

export { targetPortOf, localityOf, workloadId };
