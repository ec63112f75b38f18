import { createHash } from "node:crypto";
import { LocalError } from "./errors.js";
import { namespaceOf, type Manifest } from "./manifests.js";

/** How pods reach each other: their own network namespaces with real capture (root), or 127.x addresses. */
export type NetworkMode = "transparent" | "explicit";

export interface LocalPod {
  /** Pod name, `<workload>-<n>`. */
  name: string;
  namespace: string;
  workload: string;
  labels: Record<string, string>;
  annotations: Record<string, string>;
  serviceAccount: string;
  ip: string;
  /** Where the app listens: the pod IP in transparent mode, its own loopback address in explicit mode. */
  appIp: string;
  /** Ports the app listens on (explicit mode shifts privileged ones: see `explicitPort`). */
  containerPorts: number[];
  /** The app's command for local runs, from the pod template annotation. */
  command?: string[];
  /** The first container's `env` entries (literal values and fieldRefs). */
  containerEnv: Array<{ name: string; value?: string; valueFrom?: { fieldRef?: { fieldPath: string } } }>;
  /** False when the pod template says `sidecar.istio.io/inject: "false"`. */
  sidecar: boolean;
  /** Network namespace name (transparent mode). */
  netns: string;
  /** Host side of the veth pair (≤ 15 characters). */
  hostVeth: string;
}

export interface LocalService {
  name: string;
  namespace: string;
  vip: string;
  ports: Array<{ name?: string; port: number; targetPort?: number | string; protocol?: string }>;
}

export interface LocalPlan {
  mode: NetworkMode;
  bridge: { name: string; ip: string; prefix: number };
  pods: LocalPod[];
  services: LocalService[];
  /** `port` serves the gateway Service's port 80, `httpsPort` its 443 (istiod binds a Gateway server on the Service's target port). */
  gateway: { name: string; namespace: string; ip: string; port: number; httpsPort: number };
  /** What discovery reads: the user's manifests with VIPs, plus the pods and the ingress gateway. */
  rendered: Manifest[];
}

/** Annotation on a pod template naming the command that runs the app locally (see samples/README.md). */
export const LOCAL_COMMAND_ANNOTATION = "weft.dev/local-command";

export interface PlanOptions {
  mode: NetworkMode;
  ingressPort: number;
  /** Target of the ingress Service's port 443 (Istio's ingress maps 443 → 8443). */
  ingressHttpsPort?: number;
  /** First two octets of the pod and service ranges: pods in .1.0/16 of `podNet`, VIPs in `serviceNet`. */
  podNet?: string;
  serviceNet?: string;
}

/**
 * Explicit mode runs without root, where ports below 1024 can't be bound: a
 * privileged container port p becomes 20000 + p (httpbin's 80 → 20080) for the
 * app, its sidecar and the Service's targetPort alike. Not 10000 + p: 10080 is
 * on the Fetch standard's blocked-port list, so fetch() and browsers refuse it.
 */
/** Where the ingress serves a Gateway's 443 servers unless `--ingress-https-port` says otherwise. */
export const DEFAULT_INGRESS_HTTPS_PORT = 8443;

export function explicitPort(port: number): number {
  return port < 1024 ? 20_000 + port : port;
}

/** Explicit mode's pod addresses (sidecars bind them) and app addresses, side by side in 127/8. */
const EXPLICIT_POD_NET = "127.10";
const EXPLICIT_APP_NET = "127.11";

function ipAt(base: string, index: number): string {
  const [a, b] = base.split(".").map(Number);
  const offset = index + 2; // .0.0 is the network, .0.1 the bridge
  return `${a}.${b}.${Math.floor(offset / 250)}.${(offset % 250) + 1}`;
}

function shortHash(text: string): string {
  return createHash("sha256").update(text).digest("hex").slice(0, 8);
}

function podTemplate(m: Manifest): { metadata: Manifest["metadata"]; spec: Record<string, unknown> } | undefined {
  if (m.kind === "Pod") return { metadata: m.metadata, spec: (m.spec ?? {}) as Record<string, unknown> };
  if (["Deployment", "StatefulSet", "DaemonSet", "ReplicaSet", "Job"].includes(m.kind)) {
    const template = (m.spec as { template?: { metadata?: Manifest["metadata"]; spec?: Record<string, unknown> } } | undefined)?.template;
    if (!template?.spec) throw new LocalError(`${m.__origin}: ${m.kind} ${m.metadata.name} has no spec.template.spec`, "give the workload a pod template");
    return { metadata: { name: m.metadata.name, ...template.metadata }, spec: template.spec };
  }
  return undefined;
}

/** Parses the local-command annotation: a JSON array of strings, or a plain command line split on spaces. */
export function parseLocalCommand(value: string | undefined, origin: string): string[] | undefined {
  if (!value) return undefined;
  const trimmed = value.trim();
  if (trimmed.startsWith("[")) {
    const parsed = JSON.parse(trimmed) as unknown;
    if (!Array.isArray(parsed) || !parsed.every((x) => typeof x === "string") || parsed.length === 0) {
      throw new LocalError(`${origin}: ${LOCAL_COMMAND_ANNOTATION} must be a non-empty JSON array of strings`, 'e.g. ["node", "app.js"]');
    }
    return parsed;
  }
  return trimmed.split(/\s+/);
}

export function buildPlan(manifests: readonly Manifest[], options: PlanOptions): LocalPlan {
  const podNet = options.podNet ?? "10.210";
  const serviceNet = options.serviceNet ?? "10.211";
  const bridgeIp = `${podNet}.0.1`;
  const pods: LocalPod[] = [];
  for (const m of manifests) {
    const template = podTemplate(m);
    if (!template) continue;
    const namespace = namespaceOf(m);
    const replicas = m.kind === "Pod" ? 1 : Math.max(1, Number((m.spec as { replicas?: number }).replicas ?? 1));
    const annotations = template.metadata.annotations ?? {};
    const containers = (template.spec.containers ?? []) as Array<{ ports?: Array<{ containerPort: number }>; env?: LocalPod["containerEnv"] }>;
    for (let i = 0; i < replicas; i++) {
      const name = m.kind === "Pod" ? m.metadata.name : `${m.metadata.name}-${i}`;
      const id = shortHash(`${namespace}/${name}`);
      pods.push({
        name,
        namespace,
        workload: m.metadata.name,
        labels: { ...(template.metadata.labels ?? {}) },
        annotations: { ...annotations },
        serviceAccount: String(template.spec.serviceAccountName ?? template.spec.serviceAccount ?? "default"),
        ip: "",
        appIp: "",
        containerPorts: containers.flatMap((c) => (c.ports ?? []).map((p) => (options.mode === "explicit" ? explicitPort(p.containerPort) : p.containerPort))),
        command: parseLocalCommand(annotations[LOCAL_COMMAND_ANNOTATION], m.__origin ?? m.metadata.name),
        containerEnv: containers[0]?.env ?? [],
        sidecar: annotations["sidecar.istio.io/inject"] !== "false" && template.metadata.labels?.["sidecar.istio.io/inject"] !== "false",
        netns: `weft-${id}`,
        hostVeth: `wv${id}`,
      });
    }
  }
  const seen = new Set<string>();
  for (const pod of pods) {
    const key = `${pod.namespace}/${pod.name}`;
    if (seen.has(key)) throw new LocalError(`two workloads make pod ${key}`, "give each workload a distinct name");
    seen.add(key);
  }
  pods.forEach((pod, i) => {
    pod.ip = ipAt(options.mode === "transparent" ? podNet : EXPLICIT_POD_NET, i);
    pod.appIp = options.mode === "transparent" ? pod.ip : ipAt(EXPLICIT_APP_NET, i);
  });

  const services: LocalService[] = [];
  const rendered: Manifest[] = [];
  for (const m of manifests) {
    const copy = structuredClone(m);
    delete copy.__origin;
    if (m.kind === "Service") {
      const spec = (copy.spec ??= {}) as { clusterIP?: string; ports?: LocalService["ports"] };
      if (spec.clusterIP !== "None") spec.clusterIP ||= ipAt(serviceNet, services.length);
      if (options.mode === "explicit") {
        for (const port of spec.ports ?? []) {
          const target = port.targetPort ?? port.port;
          if (typeof target === "number" && target !== explicitPort(target)) port.targetPort = explicitPort(target);
        }
      }
      services.push({ name: m.metadata.name, namespace: namespaceOf(m), vip: spec.clusterIP ?? "None", ports: spec.ports ?? [] });
    }
    rendered.push(copy);
  }
  const gateway = { name: "istio-ingressgateway", namespace: "istio-system", ip: options.mode === "transparent" ? bridgeIp : "127.0.0.1", port: options.ingressPort, httpsPort: options.ingressHttpsPort ?? DEFAULT_INGRESS_HTTPS_PORT };
  if (gateway.httpsPort === gateway.port) throw new LocalError(`the ingress's HTTP and HTTPS ports are both ${gateway.port}`, "give --ingress-port and --ingress-https-port different ports");
  const gatewayVip = ipAt(serviceNet, services.length);
  services.push({ name: gateway.name, namespace: gateway.namespace, vip: gatewayVip, ports: gatewayServicePorts(gateway) });
  rendered.push(...gatewayManifests(gateway, gatewayVip));
  rendered.push(...pods.map(podManifest));
  return { mode: options.mode, bridge: { name: "weft0", ip: bridgeIp, prefix: 16 }, pods, services, gateway, rendered };
}

function podManifest(pod: LocalPod): Manifest {
  return {
    apiVersion: "v1",
    kind: "Pod",
    metadata: { name: pod.name, namespace: pod.namespace, labels: { ...pod.labels, ...(pod.sidecar ? { "security.istio.io/tlsMode": "istio" } : {}) }, annotations: { "weft.dev/local": "true" } },
    spec: { serviceAccountName: pod.serviceAccount, containers: [{ name: pod.workload, ports: pod.containerPorts.map((containerPort) => ({ containerPort })) }] },
    status: { phase: "Running", podIP: pod.ip, podIPs: [{ ip: pod.ip }], conditions: [{ type: "Ready", status: "True" }] },
  };
}

/** The ingress Service's ports, as Istio's chart names them: 80 → the HTTP port, 443 → the HTTPS port. */
function gatewayServicePorts(gateway: LocalPlan["gateway"]): LocalService["ports"] {
  return [
    { name: "http2", port: 80, targetPort: gateway.port, protocol: "TCP" },
    { name: "https", port: 443, targetPort: gateway.httpsPort, protocol: "TCP" },
  ];
}

function gatewayManifests(gateway: LocalPlan["gateway"], vip: string): Manifest[] {
  const labels = { app: "istio-ingressgateway", istio: "ingressgateway" };
  return [
    { apiVersion: "v1", kind: "Namespace", metadata: { name: gateway.namespace } },
    { apiVersion: "v1", kind: "ServiceAccount", metadata: { name: "istio-ingressgateway-service-account", namespace: gateway.namespace } },
    {
      apiVersion: "v1",
      kind: "Service",
      metadata: { name: gateway.name, namespace: gateway.namespace, labels },
      spec: { clusterIP: vip, selector: labels, ports: gatewayServicePorts(gateway) },
    },
    {
      apiVersion: "v1",
      kind: "Pod",
      metadata: { name: `${gateway.name}-local`, namespace: gateway.namespace, labels },
      spec: { serviceAccountName: "istio-ingressgateway-service-account", containers: [{ name: "istio-proxy", ports: [{ containerPort: gateway.port }, { containerPort: gateway.httpsPort }] }] },
      status: { phase: "Running", podIP: gateway.ip, podIPs: [{ ip: gateway.ip }], conditions: [{ type: "Ready", status: "True" }] },
    },
  ];
}
