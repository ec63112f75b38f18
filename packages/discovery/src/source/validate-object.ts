// One raw document → a ConfigObject, or the errors that keep it out. Checks
// the envelope (apiVersion, kind, metadata), then the kind's own fields.
import type { ConfigError, ConfigObject } from "../contracts.js";
import { FieldChecker, isObject, type Json } from "./field-checker.js";
import { CLUSTER_SCOPED, checkKind } from "./kinds.js";
import { validateDestinationRule } from "./validate-destination-rule.js";
import { validateGateway, validateSecurityOrTelemetry, validateServiceEntry, validateSidecar, validateWorkloadEntrySpec } from "./validate-istio-misc.js";
import { validateKubeObject } from "./validate-kube.js";
import { validateSecret } from "./validate-secret.js";
import { validateVirtualService } from "./validate-virtual-service.js";
import { validateEnvoyFilter } from "../envoy-filter/validate.js";

const NAME = /^[a-z0-9]([-a-z0-9.]*[a-z0-9])?$/;

export interface ValidatedDocument {
  object?: ConfigObject;
  errors: ConfigError[];
}

export function validateDocument(doc: unknown, origin: string): ValidatedDocument {
  if (!isObject(doc)) return { errors: [{ origin, reason: `a document must be a Kubernetes object (a map), got ${JSON.stringify(doc)?.slice(0, 60)}` }] };
  const apiVersion = doc.apiVersion;
  const kind = doc.kind;
  if (typeof apiVersion !== "string" || apiVersion === "") return { errors: [{ origin, field: "apiVersion", reason: "apiVersion is required" }] };
  if (typeof kind !== "string" || kind === "") return { errors: [{ origin, field: "kind", reason: "kind is required" }] };
  const meta = isObject(doc.metadata) ? doc.metadata : undefined;
  const name = meta?.name;
  const kindError = checkKind(apiVersion, kind);
  const label = `${kind} ${typeof meta?.namespace === "string" ? `${meta.namespace}/` : ""}${typeof name === "string" ? name : "<unnamed>"}`;
  if (kindError) return { errors: [{ origin, object: label, field: "kind", reason: kindError }] };
  if (typeof name !== "string" || !NAME.test(name)) {
    return { errors: [{ origin, object: label, field: "metadata.name", reason: `metadata.name ${JSON.stringify(name)} must be a DNS-1123 name` }] };
  }
  const namespace = CLUSTER_SCOPED.has(kind) ? "" : typeof meta?.namespace === "string" && meta.namespace !== "" ? meta.namespace : "default";
  const objectName = `${kind} ${namespace ? `${namespace}/` : ""}${name}`;
  const c = new FieldChecker(origin, objectName);
  const labels = c.stringMap(meta?.labels, "metadata.labels");
  const annotations = c.stringMap(meta?.annotations, "metadata.annotations");
  const spec = doc.spec;
  if (spec !== undefined && !isObject(spec)) c.fail("spec", "spec must be a map");
  const s: Json = isObject(spec) ? spec : {};
  switch (kind) {
    case "VirtualService":
      validateVirtualService(s, c);
      break;
    case "DestinationRule":
      validateDestinationRule(s, c);
      break;
    case "Gateway":
      validateGateway(s, c);
      break;
    case "ServiceEntry":
      validateServiceEntry(s, c);
      break;
    case "Sidecar":
      validateSidecar(s, c);
      break;
    case "WorkloadEntry":
      validateWorkloadEntrySpec(s, "spec", c);
      break;
    case "EnvoyFilter":
      validateEnvoyFilter(s, c, { namespace, name, label: objectName, origin });
      break;
    case "Secret":
      validateSecret(doc, `${namespace}/${name}`, c);
      break;
    case "PeerAuthentication":
    case "AuthorizationPolicy":
    case "RequestAuthentication":
    case "Telemetry":
      validateSecurityOrTelemetry(kind, s, c);
      break;
    default:
      validateKubeObject(kind, doc, c);
  }
  if (c.errors.length > 0) return { errors: c.errors };
  const object: ConfigObject = {
    apiVersion,
    kind,
    metadata: {
      name,
      namespace,
      ...(labels ? { labels } : {}),
      ...(annotations ? { annotations } : {}),
      ...(typeof meta?.generation === "number" ? { generation: meta.generation } : {}),
      ...(typeof meta?.creationTimestamp === "string" ? { creationTimestamp: meta.creationTimestamp } : {}),
    },
    ...(spec !== undefined ? { spec } : {}),
    origin,
    raw: doc,
  };
  return { object, errors: [] };
}
