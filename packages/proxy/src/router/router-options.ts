// The router filter's own typed_config (envoy.extensions.filters.http.router.v3.Router):
// suppress_envoy_headers is honoured; what Weft does not do is reported when set,
// never silently dropped.
import { anyUnpack, type Any } from "@bufbuild/protobuf/wkt";
import { RouterSchema } from "@weft/xds-api/gen/envoy/extensions/filters/http/router/v3/router_pb.js";
import { ResourceRejectedError } from "../contracts.js";

export interface RouterOptions {
  /**
   * suppress_envoy_headers: no x-envoy-upstream-service-time, x-envoy-expected-rq-timeout-ms
   * or x-envoy-overloaded from the router (Istio's proxyHeaders.envoyDebugHeaders.disabled).
   */
  suppressEnvoyHeaders: boolean;
}

export const DEFAULT_ROUTER_OPTIONS: RouterOptions = { suppressEnvoyHeaders: false };

export function compileRouterOptions(any: Any, report: (field: string, what: string) => void, resource: string, field: string): RouterOptions {
  let r;
  try {
    r = anyUnpack(any, RouterSchema);
  } catch (err) {
    throw new ResourceRejectedError(resource, `${field}.typed_config`, `the router config does not decode: ${(err as Error).message}`);
  }
  if (!r) throw new ResourceRejectedError(resource, `${field}.typed_config`, `expected ${RouterSchema.typeName}, got ${any.typeUrl}`);
  if (r.upstreamLog.length > 0) report("router.upstream_log", "not implemented; upstream requests are not logged");
  if (r.strictCheckHeaders.length > 0) report("router.strict_check_headers", "not implemented; malformed x-envoy-* values are ignored, not refused");
  if (r.respectExpectedRqTimeout) report("router.respect_expected_rq_timeout", "not implemented; x-envoy-expected-rq-timeout-ms does not set the timeout");
  if (r.upstreamHttpFilters.length > 0) report("router.upstream_http_filters", "not implemented; skipped");
  return { suppressEnvoyHeaders: r.suppressEnvoyHeaders };
}
