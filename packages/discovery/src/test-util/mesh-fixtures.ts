// Fixtures for the config half's tests: load a testdata directory into a
// snapshot (the same parse + validation as the directory source, no watcher),
// make xDS Nodes the way pilot-agent does, and render generated resources as
// Envoy JSON for golden files.
import { create, type JsonObject, type JsonValue } from "@bufbuild/protobuf";
import { readdirSync, readFileSync } from "node:fs";
import { join, relative } from "node:path";
import { fileURLToPath } from "node:url";
import { PUSH_ORDER, toEnvoyJson, unpackAny, validateMessage } from "@weft/xds-api";
import { NodeSchema, type Node } from "@weft/xds-api/gen/envoy/config/core/v3/base_pb.js";
import type { ConfigError, ConfigObject, ConfigSnapshot, ProxyInfo, XdsResource } from "../contracts.js";
import { createXdsGenerator } from "../generators/create-generators.js";
import { parseProxy } from "../push-context/parse-proxy.js";
import type { MeshPushContext } from "../push-context/push-context.js";
import { parseDocuments } from "../source/parse-documents.js";
import { validateDocument } from "../source/validate-object.js";

export const TESTDATA = fileURLToPath(new URL("../../testdata/", import.meta.url));

export function loadSnapshot(...dirs: string[]): ConfigSnapshot {
  const objects: ConfigObject[] = [];
  const errors: ConfigError[] = [];
  for (const dir of dirs) {
    const root = join(TESTDATA, dir);
    for (const f of readdirSync(root).filter((n) => /\.(ya?ml|json)$/.test(n)).sort()) {
      const rel = relative(TESTDATA, join(root, f));
      for (const { doc, origin } of parseDocuments(readFileSync(join(root, f), "utf8"), rel)) {
        const v = validateDocument(doc, origin);
        errors.push(...v.errors);
        if (v.object) objects.push(v.object);
      }
    }
  }
  return { objects, errors };
}

export function snapshotOf(yamlText: string, origin = "test.yaml"): ConfigSnapshot {
  const objects: ConfigObject[] = [];
  const errors: ConfigError[] = [];
  for (const { doc, origin: o } of parseDocuments(yamlText, origin)) {
    const v = validateDocument(doc, o);
    errors.push(...v.errors);
    if (v.object) objects.push(v.object);
  }
  return { objects, errors };
}

export interface NodeOptions {
  type?: "sidecar" | "router";
  ip: string;
  pod: string;
  namespace: string;
  labels?: Record<string, string>;
  generator?: "grpc";
  extra?: JsonObject;
}

/** An xDS Node as pilot-agent sends it (id + ISTIO_META_* metadata). */
export function makeNode(o: NodeOptions): Node {
  const metadata: JsonObject = { NAMESPACE: o.namespace, NAME: o.pod, INSTANCE_IPS: o.ip, CLUSTER_ID: "Kubernetes", LABELS: o.labels ?? {}, ...(o.generator ? { GENERATOR: o.generator } : {}), ...(o.extra ?? {}) };
  return create(NodeSchema, { id: `${o.type ?? "sidecar"}~${o.ip}~${o.pod}.${o.namespace}~${o.namespace}.svc.cluster.local`, cluster: `${o.pod}.${o.namespace}`, metadata });
}

export function proxyOf(o: NodeOptions): ProxyInfo {
  return parseProxy(makeNode(o), "cluster.local");
}

const generator = createXdsGenerator();

export function generate(push: MeshPushContext, proxy: ProxyInfo, typeUrl: string, names?: readonly string[]): XdsResource[] {
  return generator.generate(proxy, push, typeUrl, names);
}

/** A resource as Envoy JSON (snake_case, like a config_dump). */
export function resourceJson(r: XdsResource): JsonValue {
  const { schema, message } = unpackAny(r.resource);
  return toEnvoyJson(schema, message);
}

/** Every type in push order, as `{ "<short type>": [resources…] }`. */
export function fullXdsJson(push: MeshPushContext, proxy: ProxyInfo): JsonObject {
  const out: JsonObject = {};
  for (const typeUrl of PUSH_ORDER) {
    if (!typeUrl.includes("Cluster") && !typeUrl.includes("Listener") && !typeUrl.includes("RouteConfiguration")) continue;
    if (typeUrl.includes("Scoped")) continue;
    const short = typeUrl.split(".").pop()!;
    out[short] = generate(push, proxy, typeUrl).map(resourceJson);
  }
  return out;
}

/** Every PGV issue of every resource, as `name: path rule message` (empty when all pass). */
export function validationIssues(resources: readonly XdsResource[]): string[] {
  const issues: string[] = [];
  for (const r of resources) {
    const { schema, message } = unpackAny(r.resource);
    for (const i of validateMessage(schema, message, { rejectUnknownAny: true })) issues.push(`${r.name}: ${i.path} ${i.rule} ${i.message}`);
  }
  return issues;
}

/** All four types for a proxy, flattened. */
export function allResources(push: MeshPushContext, proxy: ProxyInfo): XdsResource[] {
  return PUSH_ORDER.filter((t) => /(Cluster|ClusterLoadAssignment|Listener|RouteConfiguration)$/.test(t)).flatMap((t) => generate(push, proxy, t));
}
