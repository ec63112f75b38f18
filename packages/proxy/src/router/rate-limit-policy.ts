// envoy.config.route.v3.RateLimit (a route's or virtual host's `rate_limits`)
// compiled once per config into descriptor producers, with Envoy's semantics
// (source/common/router/router_ratelimit.cc): each RateLimit yields one
// descriptor, its entries in action order; an action that cannot produce its
// entry (a missing header, a header_value_match that does not come out as
// expected…) drops that RateLimit's whole descriptor, except where
// skip_if_absent lets the action add nothing and the rest continue.
//
// Actions are plain tagged objects read by one switch, so evaluating them
// makes no closures per request; matchers inside them are compiled here.
import type { JsonObject, JsonValue } from "@bufbuild/protobuf";
import type { RateLimit, RateLimit_Action } from "@weft/xds-api/gen/envoy/config/route/v3/route_components_pb.js";
import type { Metadata } from "@weft/xds-api/gen/envoy/config/core/v3/base_pb.js";
import type { MetadataKey } from "@weft/xds-api/gen/envoy/type/metadata/v3/metadata_pb.js";
import { ResourceRejectedError } from "../contracts.js";
import { firstHeaderValue, type RequestContext } from "../http/request-context.js";
import { compileHeaderMatcher, compileQueryMatcher, type RouteMatcher } from "./route-match.js";
import { maskAddress } from "./mask-address.js";

/** Envoy's RateLimitPolicyImpl::MAX_STAGE_NUMBER. */
export const MAX_RATE_LIMIT_STAGE = 10;

type Action =
  | { kind: "source_cluster" }
  | { kind: "destination_cluster" }
  | { kind: "request_headers"; header: string; key: string; skipIfAbsent: boolean }
  | { kind: "remote_address" }
  | { kind: "masked_remote_address"; v4: number; v6: number }
  /** generic_key, and metadata whose value is known at config time (ROUTE_ENTRY). */
  | { kind: "fixed"; key: string; value: string }
  | { kind: "header_value_match"; key: string; value: string; expect: boolean; headers: RouteMatcher[] }
  | { kind: "query_parameter_value_match"; key: string; value: string; expect: boolean; params: Array<(p: Map<string, string>) => boolean> }
  | { kind: "dynamic_metadata"; key: string; filter: string; path: string[]; fallback: string; skipIfAbsent: boolean }
  /** An action that never produces (ROUTE_ENTRY metadata absent, unsupported extension). */
  | { kind: "never" }
  /** An action that adds no entry and lets the rest continue (absent metadata with skip_if_absent). */
  | { kind: "skip" };

export interface RateLimitEntrySpec {
  actions: Action[];
}

/** A route's or virtual host's rate_limits, grouped by stage; absent when the list is empty. */
export interface RateLimitPolicy {
  /** Index = stage (0..10); entries with a disable_key are left out (the local filter skips them). */
  byStage: Array<RateLimitEntrySpec[] | undefined>;
}

/** What an action needs from the request besides its context. */
export interface DescriptorInputs {
  /** The local service cluster (bootstrap node.cluster / --service-cluster). */
  localCluster: string;
  /** The route's cluster when it names one; undefined for weighted or header-chosen clusters. */
  routeCluster: string | undefined;
}

/**
 * A request descriptor: entries flattened as [key0, value0, key1, value1…], and
 * `id`, the entries joined with separators no header or key can hold, for exact lookups.
 */
export interface RequestDescriptor {
  entries: string[];
  id: string;
}

/** Separators for descriptor ids: NUL and SOH never appear in header values or config keys of an accepted config. */
export const ENTRY_SEP = "\u0001";
export const KV_SEP = "\u0000";

export function descriptorId(entries: readonly string[]): string {
  let id = "";
  for (let i = 0; i < entries.length; i += 2) id += (i ? ENTRY_SEP : "") + entries[i] + KV_SEP + entries[i + 1];
  return id;
}

type Report = (field: string, detail?: string) => void;

/**
 * `metadata`: the route's metadata (RateLimit metadata actions with source ROUTE_ENTRY read it;
 * it cannot change per request, so the value is settled here).
 */
export function compileRateLimitPolicy(list: readonly RateLimit[], metadata: Metadata | undefined, res: string, field: string, report: Report): RateLimitPolicy | undefined {
  if (list.length === 0) return undefined;
  const byStage: Array<RateLimitEntrySpec[] | undefined> = [];
  list.forEach((rl, i) => {
    const f = `${field}[${i}]`;
    const stage = rl.stage ?? 0;
    if (stage > MAX_RATE_LIMIT_STAGE) throw new ResourceRejectedError(res, `${f}.stage`, `must be at most ${MAX_RATE_LIMIT_STAGE}, got ${stage}`);
    if (rl.actions.length === 0) throw new ResourceRejectedError(res, `${f}.actions`, "at least one action is required");
    const actions = rl.actions.map((a, j) => compileAction(a, metadata, res, `${f}.actions[${j}]`, report));
    // The limit override only reaches a global rate limit service; local descriptors never carry it (Envoy's populateLocalDescriptors).
    if (rl.limit) report("rate_limits.limit", "used by the global rate limit service only; local rate limits ignore it, as Envoy's");
    // The local rate limit filter skips an entry with a disable_key whatever the runtime says (Envoy's local_ratelimit.cc).
    if (rl.disableKey) return;
    (byStage[stage] ??= []).push({ actions });
  });
  return { byStage };
}

function compileAction(a: RateLimit_Action, metadata: Metadata | undefined, res: string, field: string, report: Report): Action {
  const s = a.actionSpecifier;
  switch (s.case) {
    case "sourceCluster":
      return { kind: "source_cluster" };
    case "destinationCluster":
      return { kind: "destination_cluster" };
    case "requestHeaders": {
      const { headerName, descriptorKey, skipIfAbsent } = s.value;
      if (!headerName) throw new ResourceRejectedError(res, `${field}.request_headers.header_name`, "must not be empty");
      if (!descriptorKey) throw new ResourceRejectedError(res, `${field}.request_headers.descriptor_key`, "must not be empty");
      return { kind: "request_headers", header: headerName.toLowerCase(), key: descriptorKey, skipIfAbsent };
    }
    case "remoteAddress":
      return { kind: "remote_address" };
    case "maskedRemoteAddress": {
      const v4 = s.value.v4PrefixMaskLen ?? 32;
      const v6 = s.value.v6PrefixMaskLen ?? 128;
      if (v4 > 32) throw new ResourceRejectedError(res, `${field}.masked_remote_address.v4_prefix_mask_len`, `must be at most 32, got ${v4}`);
      if (v6 > 128) throw new ResourceRejectedError(res, `${field}.masked_remote_address.v6_prefix_mask_len`, `must be at most 128, got ${v6}`);
      return { kind: "masked_remote_address", v4, v6 };
    }
    case "genericKey":
      if (!s.value.descriptorValue) throw new ResourceRejectedError(res, `${field}.generic_key.descriptor_value`, "must not be empty");
      return { kind: "fixed", key: s.value.descriptorKey || "generic_key", value: s.value.descriptorValue };
    case "headerValueMatch": {
      const v = s.value;
      if (!v.descriptorValue) throw new ResourceRejectedError(res, `${field}.header_value_match.descriptor_value`, "must not be empty");
      if (v.headers.length === 0) throw new ResourceRejectedError(res, `${field}.header_value_match.headers`, "at least one header matcher is required");
      const headers = v.headers.map((h, k) => compileHeaderMatcher(h, res, `${field}.header_value_match.headers[${k}]`));
      return { kind: "header_value_match", key: v.descriptorKey || "header_match", value: v.descriptorValue, expect: v.expectMatch ?? true, headers };
    }
    case "queryParameterValueMatch": {
      const v = s.value;
      if (!v.descriptorValue) throw new ResourceRejectedError(res, `${field}.query_parameter_value_match.descriptor_value`, "must not be empty");
      if (v.queryParameters.length === 0) throw new ResourceRejectedError(res, `${field}.query_parameter_value_match.query_parameters`, "at least one query parameter matcher is required");
      const params = v.queryParameters.map((q, k) => compileQueryMatcher(q, res, `${field}.query_parameter_value_match.query_parameters[${k}]`));
      return { kind: "query_parameter_value_match", key: v.descriptorKey || "query_match", value: v.descriptorValue, expect: v.expectMatch ?? true, params };
    }
    case "metadata":
    case "dynamicMetadata": {
      const v = s.value;
      const name = s.case === "metadata" ? "metadata" : "dynamic_metadata";
      if (!v.descriptorKey) throw new ResourceRejectedError(res, `${field}.${name}.descriptor_key`, "must not be empty");
      if (!v.metadataKey) throw new ResourceRejectedError(res, `${field}.${name}.metadata_key`, "is required");
      // The deprecated dynamic_metadata action has no skip_if_absent (Envoy: false).
      const skipIfAbsent = s.case === "metadata" ? s.value.skipIfAbsent : false;
      const path = metadataPath(v.metadataKey);
      if (s.case === "metadata" && s.value.source === 1 /* ROUTE_ENTRY */) {
        const found = lookup(metadata?.filterMetadata[v.metadataKey.key], path);
        const value = found || v.defaultValue;
        if (value) return { kind: "fixed", key: v.descriptorKey, value };
        return skipIfAbsent ? { kind: "skip" } : { kind: "never" };
      }
      return { kind: "dynamic_metadata", key: v.descriptorKey, filter: v.metadataKey.key, path, fallback: v.defaultValue, skipIfAbsent };
    }
    case "extension":
      report(`${field}.extension`, `rate limit descriptor extension ${s.value.name} is not implemented; its rate limit yields no descriptor`);
      return { kind: "never" };
    default:
      throw new ResourceRejectedError(res, field, "an action is required");
  }
}

function metadataPath(k: MetadataKey): string[] {
  return k.path.map((p) => (p.segment.case === "key" ? p.segment.value : ""));
}

/** A metadata value's string_value at `path` under one filter's struct; "" when absent or not a string (Envoy). */
function lookup(struct: JsonObject | Record<string, unknown> | undefined, path: readonly string[]): string {
  let v: JsonValue | unknown = struct;
  for (const key of path) {
    if (v === null || typeof v !== "object" || Array.isArray(v)) return "";
    v = (v as Record<string, unknown>)[key];
  }
  return typeof v === "string" ? v : "";
}


/** Query parameters as Envoy's query_parameter_value_match reads them: first value, percent-decoded. */
function decodedQuery(path: string): Map<string, string> {
  const out = new Map<string, string>();
  const q = path.indexOf("?");
  if (q < 0) return out;
  const h = path.indexOf("#", q);
  for (const part of path.slice(q + 1, h < 0 ? undefined : h).split("&")) {
    if (!part) continue;
    const eq = part.indexOf("=");
    const k = decode(eq < 0 ? part : part.slice(0, eq));
    if (!out.has(k)) out.set(k, eq < 0 ? "" : decode(part.slice(eq + 1)));
  }
  return out;
}

function decode(s: string): string {
  try {
    return decodeURIComponent(s.replace(/\+/g, " "));
  } catch {
    return s;
  }
}

/**
 * Appends to `out` the descriptor each applicable RateLimit of `policy` at `stage` produces
 * (Envoy's populateLocalDescriptors): one per RateLimit whose actions all succeed.
 */
export function populateDescriptors(policy: RateLimitPolicy | undefined, stage: number, ctx: RequestContext, inputs: DescriptorInputs, out: RequestDescriptor[]): void {
  const entries = policy?.byStage[stage];
  if (!entries) return;
  for (const e of entries) {
    const d = produce(e.actions, ctx, inputs);
    // A descriptor whose actions all skipped has no entries and can match no configured one.
    if (d?.length) out.push({ entries: d, id: descriptorId(d) });
  }
}

function produce(actions: readonly Action[], ctx: RequestContext, inputs: DescriptorInputs): string[] | undefined {
  const d: string[] = [];
  let query: Map<string, string> | undefined;
  for (const a of actions) {
    switch (a.kind) {
      case "source_cluster":
        d.push("source_cluster", inputs.localCluster);
        break;
      case "destination_cluster":
        if (inputs.routeCluster === undefined) return undefined;
        d.push("destination_cluster", inputs.routeCluster);
        break;
      case "request_headers": {
        const v = firstHeaderValue(ctx, a.header);
        if (v === undefined) {
          if (a.skipIfAbsent) break;
          return undefined;
        }
        d.push(a.key, v);
        break;
      }
      case "remote_address":
        if (!ctx.downstreamRemoteIp) return undefined;
        d.push("remote_address", ctx.downstreamRemoteIp);
        break;
      case "masked_remote_address": {
        const masked = maskAddress(ctx.downstreamRemoteIp, a.v4, a.v6);
        if (masked === undefined) return undefined;
        d.push("masked_remote_address", masked);
        break;
      }
      case "fixed":
        d.push(a.key, a.value);
        break;
      case "header_value_match": {
        let all = true;
        for (const m of a.headers) {
          if (!m(ctx)) {
            all = false;
            break;
          }
        }
        if (all !== a.expect) return undefined;
        d.push(a.key, a.value);
        break;
      }
      case "query_parameter_value_match": {
        query ??= decodedQuery(ctx.path);
        let all = true;
        for (const m of a.params) {
          if (!m(query)) {
            all = false;
            break;
          }
        }
        if (all !== a.expect) return undefined;
        d.push(a.key, a.value);
        break;
      }
      case "dynamic_metadata": {
        const v = lookup(ctx.info.dynamicMetadata?.[a.filter], a.path) || a.fallback;
        if (v) d.push(a.key, v);
        else if (!a.skipIfAbsent) return undefined;
        break;
      }
      case "skip":
        break;
      case "never":
        return undefined;
    }
  }
  return d;
}
