// Istio's telemetry HTTP filters as Istio writes them: istio.stats and the
// peer metadata exchange, whether as their own types, wrapped in a TypedStruct,
// or as the null-VM Wasm plugins older Istio releases configure, and the
// grpc_stats filter Istio puts beside them. Those are implemented
// (istio-stats-filter.ts, istio-metadata-exchange-filter.ts,
// grpc-stats-filter.ts); the rest (baggage, other Wasm code) are accepted so
// Istio's configs load, never executed, each reported once. None of them
// changes traffic.
import type { HttpFilter, HttpFilterFactory, CompileContext } from "../http-filter.js";
import { anyUnpack } from "@bufbuild/protobuf/wkt";
import { StringValueSchema } from "@bufbuild/protobuf/wkt";
import { toJson, type JsonObject, type JsonValue } from "@bufbuild/protobuf";
import type { Any } from "@bufbuild/protobuf/wkt";
import { ResourceRejectedError } from "../../contracts.js";
import { TypedStructSchema } from "@weft/xds-api/gen/udpa/type/v1/typed_struct_pb.js";
import { WasmSchema } from "@weft/xds-api/gen/envoy/extensions/filters/http/wasm/v3/wasm_pb.js";
import { PluginConfigSchema } from "@weft/xds-api/gen/istio/proxy/stats_pb.js";
import { createIstioStatsFilter } from "./istio-stats-filter.js";
import { createGrpcStatsFilter } from "./grpc-stats-filter.js";
import { unwrapTypedStruct } from "../typed-struct.js";
import { createPeerExchangeFilter, peerExchangeForDirection, peerExchangeFromJson } from "./istio-metadata-exchange-filter.js";

const STATS = "type.googleapis.com/stats.PluginConfig";
const PEER_METADATA = "type.googleapis.com/io.istio.http.peer_metadata.Config";
const GRPC_STATS = "type.googleapis.com/envoy.extensions.filters.http.grpc_stats.v3.FilterConfig";
const TYPED_STRUCT = "type.googleapis.com/udpa.type.v1.TypedStruct";
const WASM = "type.googleapis.com/envoy.extensions.filters.http.wasm.v3.Wasm";

// Ambient (waypoint) HBONE helpers: only meaningful on CONNECT-terminating listeners, which we don't implement.
const AMBIENT_TYPED_STRUCTS = new Set(["type.googleapis.com/io.istio.http.connect_authority.Config"]);

const NOOP_TYPED_STRUCTS = new Set([
  "type.googleapis.com/io.istio.http.connect_baggage.Config",
  "type.googleapis.com/envoy.tcp.metadataexchange.config.MetadataExchange",
]);

function asObject(v: JsonValue | undefined): JsonObject {
  return v !== null && typeof v === "object" && !Array.isArray(v) ? v : {};
}

function noop(name: string, cc: CompileContext): HttpFilter {
  cc.report(`http_filters[${name}]`, "telemetry filter is not implemented; skipped (traffic unaffected)");
  return { name };
}

function peerExchange(name: string, value: JsonObject | undefined, cc: CompileContext): HttpFilter {
  const config = value ? peerExchangeFromJson(value, cc) : peerExchangeForDirection(cc.direction);
  return createPeerExchangeFilter(name, config, cc.runtime?.node);
}

/** The older null-VM Wasm plugins: `envoy.wasm.stats` and `envoy.wasm.metadata_exchange`. */
function fromWasm(name: string, config: Any, cc: CompileContext): HttpFilter {
  const plugin = anyUnpack(config, WasmSchema)?.config;
  const vm = plugin?.vm.case === "vmConfig" ? plugin.vm.value : undefined;
  const code = vm?.code?.specifier.case === "local" ? vm.code.specifier.value.specifier : undefined;
  const inline = code?.case === "inlineString" ? code.value : "";
  if (inline === "envoy.wasm.metadata_exchange") return peerExchange(name, undefined, cc);
  if (inline === "envoy.wasm.stats") {
    const c = plugin?.configuration;
    let json: JsonObject = {};
    if (c?.typeUrl === "type.googleapis.com/google.protobuf.StringValue") {
      const text = anyUnpack(c, StringValueSchema)?.value ?? "";
      try {
        json = text ? asObject(JSON.parse(text) as JsonValue) : {};
      } catch {
        throw new ResourceRejectedError(cc.resource, `${cc.field}.typed_config.config.configuration`, "istio.stats configuration is not valid JSON");
      }
    } else if (c?.typeUrl === STATS) {
      const msg = anyUnpack(c, PluginConfigSchema);
      json = msg ? asObject(toJson(PluginConfigSchema, msg, { useProtoFieldName: true })) : {};
    }
    return createIstioStatsFilter(name, json, cc);
  }
  return noop(name, cc);
}

export const telemetryFilterFactory: HttpFilterFactory = {
  typeUrls: [GRPC_STATS, WASM, TYPED_STRUCT, STATS, PEER_METADATA],
  perRouteTypeUrls: [],
  create(name, config, cc) {
    switch (config?.typeUrl) {
      case TYPED_STRUCT: {
        const ts = anyUnpack(config, TypedStructSchema);
        if (ts && AMBIENT_TYPED_STRUCTS.has(ts.typeUrl)) {
          cc.report(`http_filters[${name}]`, "ambient/HBONE filter is not implemented (CONNECT tunnelling is not supported); skipped");
          return { name };
        }
        if (ts?.typeUrl === STATS) return createIstioStatsFilter(name, asObject(ts.value), cc);
        if (ts?.typeUrl === PEER_METADATA) return peerExchange(name, asObject(ts.value), cc);
        if (ts?.typeUrl === GRPC_STATS) return createGrpcStatsFilter(name, unwrapTypedStruct(config, () => true, cc.resource, `${cc.field}.typed_config`), cc);
        if (!ts || !NOOP_TYPED_STRUCTS.has(ts.typeUrl)) {
          throw new ResourceRejectedError(cc.resource, `${cc.field}.typed_config`, `TypedStruct filter ${name} (${ts?.typeUrl ?? "?"}) is not implemented`);
        }
        return noop(name, cc);
      }
      case STATS: {
        const msg = anyUnpack(config, PluginConfigSchema);
        return createIstioStatsFilter(name, msg ? asObject(toJson(PluginConfigSchema, msg, { useProtoFieldName: true })) : {}, cc);
      }
      case PEER_METADATA:
        // No schema for it here: both sides of the exchange by the listener's direction.
        return peerExchange(name, undefined, cc);
      case GRPC_STATS:
        return createGrpcStatsFilter(name, config, cc);
      case WASM:
        return fromWasm(name, config, cc);
      default:
        return noop(name, cc);
    }
  },
};
