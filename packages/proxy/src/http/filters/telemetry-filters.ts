// Istio's telemetry-only HTTP filters (grpc_stats, istio.stats via Wasm or
// TypedStruct, peer metadata): accepted so Istio's configs load,
// never executed; each is reported once. They do not change traffic.
import type { HttpFilterFactory } from "../http-filter.js";
import { anyUnpack } from "@bufbuild/protobuf/wkt";
import { ResourceRejectedError } from "../../contracts.js";
import { TypedStructSchema } from "@weft/xds-api/gen/udpa/type/v1/typed_struct_pb.js";

// Ambient (waypoint) HBONE helpers: only meaningful on CONNECT-terminating listeners, which we don't implement.
const AMBIENT_TYPED_STRUCTS = new Set(["type.googleapis.com/io.istio.http.connect_authority.Config"]);

const TELEMETRY_TYPED_STRUCTS = new Set([
  "type.googleapis.com/io.istio.http.connect_baggage.Config",
  "type.googleapis.com/stats.PluginConfig",
  "type.googleapis.com/io.istio.http.peer_metadata.Config",
  "type.googleapis.com/envoy.tcp.metadataexchange.config.MetadataExchange",
]);

export const telemetryNoopFilterFactory: HttpFilterFactory = {
  typeUrls: [
    "type.googleapis.com/envoy.extensions.filters.http.grpc_stats.v3.FilterConfig",
    "type.googleapis.com/envoy.extensions.filters.http.wasm.v3.Wasm",
    "type.googleapis.com/udpa.type.v1.TypedStruct",
    // Istio's own telemetry configs as they appear when not wrapped in a TypedStruct.
    "type.googleapis.com/stats.PluginConfig",
    "type.googleapis.com/io.istio.http.peer_metadata.Config",
  ],
  perRouteTypeUrls: [],
  create(name, config, cc) {
    if (config?.typeUrl === "type.googleapis.com/udpa.type.v1.TypedStruct") {
      const ts = anyUnpack(config, TypedStructSchema);
      if (ts && AMBIENT_TYPED_STRUCTS.has(ts.typeUrl)) {
        cc.report(`http_filters[${name}]`, "ambient/HBONE filter is not implemented (CONNECT tunnelling is not supported); skipped");
        return { name };
      }
      if (!ts || !TELEMETRY_TYPED_STRUCTS.has(ts.typeUrl)) {
        throw new ResourceRejectedError(cc.resource, `${cc.field}.typed_config`, `TypedStruct filter ${name} (${ts?.typeUrl ?? "?"}) is not implemented`);
      }
    }
    cc.report(`http_filters[${name}]`, "telemetry filter is not implemented; skipped (traffic unaffected)");
    return { name };
  },
};
