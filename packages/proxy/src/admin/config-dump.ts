import { create, type DescMessage, type JsonValue, type Message } from "@bufbuild/protobuf";
import { timestampFromDate, type Any } from "@bufbuild/protobuf/wkt";
import { packAny, toEnvoyJson, unpackAny } from "@weft/xds-api";
import {
  BootstrapConfigDumpSchema,
  ConfigDumpSchema,
  SecretsConfigDumpSchema,
  SecretsConfigDump_DynamicSecretSchema,
  SecretsConfigDump_StaticSecretSchema,
  type ConfigDump,
} from "@weft/xds-api/gen/envoy/admin/v3/config_dump_pb";
import {
  ClustersConfigDumpSchema,
  EndpointsConfigDumpSchema,
  ListenersConfigDumpSchema,
  RoutesConfigDumpSchema,
} from "@weft/xds-api/gen/envoy/admin/v3/config_dump_shared_pb";
import type { Bootstrap } from "@weft/xds-api/gen/envoy/config/bootstrap/v3/bootstrap_pb";
import { BootstrapSchema } from "@weft/xds-api/gen/envoy/config/bootstrap/v3/bootstrap_pb";
import type { DumpEntry, ProxyRuntime } from "../contracts.js";

export interface ConfigDumpQuery {
  includeEds?: boolean;
  /** `?resource=dynamic_active_clusters`: only that repeated field's items, one config each. */
  resource?: string;
  /** `?mask=a,b.c`: a FieldMask applied to each config (or each resource item). */
  mask?: string;
}

export class ConfigDumpQueryError extends Error {
  override readonly name = "ConfigDumpQueryError";
}

const ts = (d: Date) => timestampFromDate(d);

// Envoy's version_info of a whole dump section: the version of the latest update.
function latestVersion(entries: DumpEntry[]): string {
  let best: DumpEntry | undefined;
  for (const e of entries) if (e.state !== "static" && (!best || e.lastUpdated > best.lastUpdated)) best = e;
  return best?.version ?? "";
}

/** Builds envoy.admin.v3.ConfigDump from the runtime's dump, in Envoy's section order. */
export function buildConfigDump(runtime: Pick<ProxyRuntime, "dump">, bootstrap: Bootstrap, bootstrapLoadedAt: Date, query: ConfigDumpQuery = {}): ConfigDump {
  const d = runtime.dump();
  const configs: Any[] = [];
  configs.push(packAny(BootstrapConfigDumpSchema, create(BootstrapConfigDumpSchema, { bootstrap, lastUpdated: ts(bootstrapLoadedAt) })));

  configs.push(
    packAny(
      ClustersConfigDumpSchema,
      create(ClustersConfigDumpSchema, {
        versionInfo: latestVersion(d.clusters),
        staticClusters: d.clusters.filter((e) => e.state === "static").map((e) => ({ cluster: e.resource, lastUpdated: ts(e.lastUpdated) })),
        dynamicActiveClusters: d.clusters
          .filter((e) => e.state === "active")
          .map((e) => ({ versionInfo: e.version, cluster: e.resource, lastUpdated: ts(e.lastUpdated) })),
        dynamicWarmingClusters: d.clusters
          .filter((e) => e.state === "warming")
          .map((e) => ({ versionInfo: e.version, cluster: e.resource, lastUpdated: ts(e.lastUpdated) })),
      }),
    ),
  );

  if (query.includeEds) {
    configs.push(
      packAny(
        EndpointsConfigDumpSchema,
        create(EndpointsConfigDumpSchema, {
          staticEndpointConfigs: d.endpoints.filter((e) => e.state === "static").map((e) => ({ endpointConfig: e.resource, lastUpdated: ts(e.lastUpdated) })),
          dynamicEndpointConfigs: d.endpoints
            .filter((e) => e.state !== "static")
            .map((e) => ({ versionInfo: e.version, endpointConfig: e.resource, lastUpdated: ts(e.lastUpdated) })),
        }),
      ),
    );
  }

  configs.push(
    packAny(
      ListenersConfigDumpSchema,
      create(ListenersConfigDumpSchema, {
        versionInfo: latestVersion(d.listeners),
        staticListeners: d.listeners.filter((e) => e.state === "static").map((e) => ({ listener: e.resource, lastUpdated: ts(e.lastUpdated) })),
        dynamicListeners: dynamicListeners(d.listeners.filter((e) => e.state !== "static")),
      }),
    ),
  );

  configs.push(
    packAny(
      RoutesConfigDumpSchema,
      create(RoutesConfigDumpSchema, {
        staticRouteConfigs: d.routes.filter((e) => e.state === "static").map((e) => ({ routeConfig: e.resource, lastUpdated: ts(e.lastUpdated) })),
        dynamicRouteConfigs: d.routes
          .filter((e) => e.state !== "static")
          .map((e) => ({ versionInfo: e.version, routeConfig: e.resource, lastUpdated: ts(e.lastUpdated) })),
      }),
    ),
  );

  configs.push(
    packAny(
      SecretsConfigDumpSchema,
      create(SecretsConfigDumpSchema, {
        staticSecrets: d.secrets
          .filter((e) => e.state === "static")
          .map((e) => create(SecretsConfigDump_StaticSecretSchema, { name: e.name, lastUpdated: ts(e.lastUpdated), secret: redactSecret(e.resource) })),
        dynamicActiveSecrets: d.secrets
          .filter((e) => e.state === "active")
          .map((e) =>
            create(SecretsConfigDump_DynamicSecretSchema, { name: e.name, versionInfo: e.version, lastUpdated: ts(e.lastUpdated), secret: redactSecret(e.resource) }),
          ),
        dynamicWarmingSecrets: d.secrets
          .filter((e) => e.state === "warming")
          .map((e) =>
            create(SecretsConfigDump_DynamicSecretSchema, { name: e.name, versionInfo: e.version, lastUpdated: ts(e.lastUpdated), secret: redactSecret(e.resource) }),
          ),
      }),
    ),
  );

  const dump = create(ConfigDumpSchema, { configs });
  if (query.resource) return selectResource(dump, query.resource);
  return dump;
}

// Envoy prints private keys as "[redacted]" in config dumps.
function redactSecret(secret: Any): Any {
  try {
    const { schema, message } = unpackAny(secret);
    const m = message as unknown as { type?: { case?: string; value?: { privateKey?: { specifier?: { case?: string; value?: unknown } } } } };
    const pk = m.type?.case === "tlsCertificate" ? m.type.value?.privateKey : undefined;
    if (pk?.specifier && pk.specifier.case !== undefined) {
      pk.specifier = { case: "inlineString", value: "[redacted]" };
      return packAny(schema as DescMessage, message as Message);
    }
  } catch {
    // leave it as it came
  }
  return secret;
}

/** `?resource=<repeated field>`: each item of that field across the configs, packed on its own. */
function selectResource(dump: ConfigDump, resource: string): ConfigDump {
  const out: Any[] = [];
  let found = false;
  for (const any of dump.configs) {
    const { schema, message } = unpackAny(any);
    const field = schema.fields.find((f) => f.name === resource);
    if (!field || field.fieldKind !== "list" || field.listKind !== "message") continue;
    found = true;
    for (const item of (message as unknown as Record<string, Message[]>)[field.localName] ?? []) out.push(packAny(field.message, item));
  }
  if (!found) throw new ConfigDumpQueryError(`resource '${resource}' is not a repeated field of any config dump section (e.g. dynamic_active_clusters, static_listeners, dynamic_listeners)`);
  return create(ConfigDumpSchema, { configs: out });
}

/** The dump as Envoy's admin writes it (proto field names), with `?mask=` applied per config. */
export function configDumpJson(dump: ConfigDump, mask?: string): JsonValue {
  const json = toEnvoyJson(ConfigDumpSchema, dump) as { configs?: Array<Record<string, JsonValue>> };
  if (!mask) return json;
  const paths = mask.split(",").map((p) => p.trim()).filter(Boolean).map((p) => p.split("."));
  return { configs: (json.configs ?? []).map((c) => ({ "@type": c["@type"]!, ...applyMask(c, paths) })) };
}

function applyMask(obj: Record<string, JsonValue>, paths: string[][]): Record<string, JsonValue> {
  const out: Record<string, JsonValue> = {};
  for (const [head, ...rest] of paths) {
    if (!head || !(head in obj)) continue;
    const value = obj[head]!;
    if (rest.length === 0) out[head] = value;
    else if (Array.isArray(value)) {
      out[head] = value.map((v) => (v && typeof v === "object" && !Array.isArray(v) ? applyMask(v, [rest]) : v));
    } else if (value && typeof value === "object") {
      const existing = (out[head] as Record<string, JsonValue> | undefined) ?? {};
      out[head] = { ...existing, ...applyMask(value, [rest]) };
    }
  }
  return out;
}

export { BootstrapSchema };

interface ListenerState {
  versionInfo: string;
  listener: Any;
  lastUpdated: ReturnType<typeof ts>;
}

/**
 * One entry per listener name, as Envoy dumps them: a listener being updated has its serving
 * version in active_state and the one still warming in warming_state (istioctl and weftctl show
 * active_state only).
 */
function dynamicListeners(entries: ReadonlyArray<DumpEntry>): Array<{ name: string; activeState?: ListenerState; warmingState?: ListenerState }> {
  const byName = new Map<string, { name: string; activeState?: ListenerState; warmingState?: ListenerState }>();
  for (const e of entries) {
    const state: ListenerState = { versionInfo: e.version, listener: e.resource, lastUpdated: ts(e.lastUpdated) };
    const item = byName.get(e.name) ?? { name: e.name };
    if (e.state === "warming") item.warmingState = state;
    else item.activeState = state;
    byName.set(e.name, item);
  }
  return [...byName.values()];
}
