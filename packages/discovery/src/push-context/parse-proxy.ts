// xDS Node → ProxyInfo. The node id is Istio's
// `<type>~<ip>~<pod>.<namespace>~<namespace>.svc.<domain>`; metadata comes
// from node.metadata (ISTIO_META_* as pilot-agent copies them: NAMESPACE,
// LABELS, GENERATOR, INSTANCE_IPS, CLUSTER_ID, NAME…), and wins over the id.
import type { ProxyParser } from "../contracts.js";

export const parseProxy: ProxyParser = (node, domain) => {
  const id = node.id;
  const parts = id.split("~");
  if (parts.length !== 4) {
    throw new Error(`node id ${JSON.stringify(id)} is not <type>~<ip>~<pod>.<namespace>~<namespace>.svc.${domain} (Istio's form, e.g. sidecar~10.1.2.3~productpage-v1.default~default.svc.${domain})`);
  }
  const [type, ip, podId, dnsDomain] = parts;
  if (type !== "sidecar" && type !== "router") throw new Error(`node id ${JSON.stringify(id)}: type ${JSON.stringify(type)} must be "sidecar" or "router"`);
  // protobuf-es gives google.protobuf.Struct fields as plain JSON objects.
  const metadata: Record<string, unknown> = node.metadata ? { ...node.metadata } : {};
  const dot = podId.lastIndexOf(".");
  const namespaceFromId = dot > 0 ? podId.slice(dot + 1) : dnsDomain.split(".")[0];
  const namespace = typeof metadata.NAMESPACE === "string" && metadata.NAMESPACE ? metadata.NAMESPACE : namespaceFromId;
  if (!namespace) throw new Error(`node id ${JSON.stringify(id)}: no namespace in the pod part (<pod>.<namespace>) and no NAMESPACE in node metadata`);
  const labels: Record<string, string> = {};
  if (metadata.LABELS && typeof metadata.LABELS === "object") {
    for (const [k, v] of Object.entries(metadata.LABELS as Record<string, unknown>)) if (typeof v === "string") labels[k] = v;
  }
  const instanceIps = typeof metadata.INSTANCE_IPS === "string" ? metadata.INSTANCE_IPS.split(",").map((s) => s.trim()).filter(Boolean) : [];
  const ipAddresses = instanceIps.length > 0 ? instanceIps : ip ? [ip] : [];
  const generator = metadata.GENERATOR === "grpc" ? "grpc" : undefined;
  return {
    id,
    type,
    ipAddresses,
    podName: dot > 0 ? podId : `${podId}.${namespace}`,
    namespace,
    dnsDomain,
    metadata,
    labels,
    ...(generator ? { generator } : {}),
    node,
  };
};
