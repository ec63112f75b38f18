// PeerAuthentication → the mTLS mode of each inbound port, as istiod composes
// it (ComposePeerAuthentication): the workload policy (selector matches; the
// oldest wins) over the namespace policy (no selector) over the mesh policy
// (root namespace, no selector) over the default PERMISSIVE; UNSET inherits
// from the level above; portLevelMtls (workload policies only) overrides per
// workload port, its UNSET inheriting the workload's mode.
import type { IstioConfig } from "../push-context/istio-config.js";
import type { MeshPushContext } from "../push-context/push-context.js";
import { isObject } from "../source/field-checker.js";
import { policiesOf, selectorOf, type WorkloadRef } from "./policy-scope.js";

export type MtlsMode = "STRICT" | "PERMISSIVE" | "DISABLE";

export interface PeerAuthnResult {
  /** The workload's mode (passthrough chains use it). */
  mode: MtlsMode;
  /** Per workload port overrides. */
  ports: ReadonlyMap<number, MtlsMode>;
  /** `ns/name` of the policies that decided, for debugging. */
  from: string[];
}

function modeOf(v: unknown): MtlsMode | undefined {
  const m = isObject(v) ? v.mode : undefined;
  return m === "STRICT" || m === "PERMISSIVE" || m === "DISABLE" ? m : undefined;
}

function levels(push: MeshPushContext, w: WorkloadRef): { mesh?: IstioConfig; namespace?: IstioConfig; workload?: IstioConfig } {
  const all = policiesOf(push, "PeerAuthentication");
  const root = push.options.rootNamespace;
  // istiod (ComposePeerAuthentication): an empty selector is no selector; a selector in the
  // root namespace makes the policy apply nowhere.
  const selector = (c: IstioConfig) => {
    const sel = selectorOf(c);
    return sel && Object.keys(sel).length > 0 ? sel : undefined;
  };
  const mesh = all.find((c) => c.namespace === root && !selector(c));
  const namespace = w.namespace === root ? undefined : all.find((c) => c.namespace === w.namespace && !selector(c));
  const workload = all.find((c) => {
    const sel = selector(c);
    return c.namespace === w.namespace && c.namespace !== root && sel !== undefined && Object.entries(sel).every(([k, v]) => w.labels[k] === v);
  });
  return { ...(mesh ? { mesh } : {}), ...(namespace ? { namespace } : {}), ...(workload ? { workload } : {}) };
}

export function peerAuthenticationFor(push: MeshPushContext, w: WorkloadRef): PeerAuthnResult {
  const { mesh, namespace, workload } = levels(push, w);
  let mode: MtlsMode = "PERMISSIVE";
  const from: string[] = [];
  for (const c of [mesh, namespace, workload]) {
    if (!c) continue;
    const m = modeOf(c.spec.mtls);
    if (m) {
      mode = m;
      from.push(`${c.namespace}/${c.name}`);
    }
  }
  const ports = new Map<number, MtlsMode>();
  const pl = workload && isObject(workload.spec.portLevelMtls) ? workload.spec.portLevelMtls : undefined;
  if (pl) {
    for (const [port, v] of Object.entries(pl)) {
      const n = Number(port);
      if (!Number.isInteger(n) || n < 1 || n > 65535) continue;
      ports.set(n, modeOf(v) ?? mode);
    }
  }
  return { mode, ports, from };
}

export function modeForPort(r: PeerAuthnResult, port: number): MtlsMode {
  return r.ports.get(port) ?? r.mode;
}

/**
 * The mode a client infers for a service (istiod's best-effort service mTLS
 * mode): the service namespace's policy, else the mesh policy; workload and
 * port policies are not visible to clients. DISABLE means auto mTLS sends
 * plaintext.
 */
export function serviceMtlsMode(push: MeshPushContext, namespace: string): MtlsMode {
  const key = `pa-svc|${namespace}`;
  const cached = push.cache.get(key) as MtlsMode | undefined;
  if (cached) return cached;
  const { mesh, namespace: ns } = levels(push, { namespace, labels: {} });
  const mode = modeOf(ns?.spec.mtls) ?? modeOf(mesh?.spec.mtls) ?? "PERMISSIVE";
  push.cache.set(key, mode);
  return mode;
}
