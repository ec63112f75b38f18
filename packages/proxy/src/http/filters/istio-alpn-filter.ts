// Istio's `istio.alpn` HTTP filter (istio.envoy.config.filter.http.alpn.v2alpha1.FilterConfig):
// overrides the ALPN the upstream TLS connection offers, per upstream protocol
// (HTTP11 → istio-http/1.1,istio,http/1.1; HTTP2 → istio-h2,istio,h2), so the
// server sidecar's virtualInbound picks its HTTP filter chain by
// application_protocols. Only TLS endpoints see the override.
import { anyUnpack, type Any } from "@bufbuild/protobuf/wkt";
import { FilterConfigSchema, FilterConfig_Protocol } from "@weft/xds-api/gen/istio/proxy/alpn_pb.js";
import { ResourceRejectedError } from "../../contracts.js";
import type { HttpFilterFactory } from "../http-filter.js";
import type { UpstreamAlpn } from "../request-context.js";

export const ISTIO_ALPN_TYPE_URL = "type.googleapis.com/istio.envoy.config.filter.http.alpn.v2alpha1.FilterConfig";

export function compileAlpnOverrides(any: Any): UpstreamAlpn | undefined {
  const cfg = anyUnpack(any, FilterConfigSchema);
  if (!cfg) return undefined;
  const out: UpstreamAlpn = {};
  for (const o of cfg.alpnOverride) {
    if (o.upstreamProtocol === FilterConfig_Protocol.HTTP10) out.http10 = [...o.alpnOverride];
    else if (o.upstreamProtocol === FilterConfig_Protocol.HTTP11) out.http1 = [...o.alpnOverride];
    else if (o.upstreamProtocol === FilterConfig_Protocol.HTTP2) out.http2 = [...o.alpnOverride];
  }
  return out;
}

export const istioAlpnFilterFactory: HttpFilterFactory = {
  typeUrls: [ISTIO_ALPN_TYPE_URL],
  perRouteTypeUrls: [],
  create(name, config, cc) {
    const overrides = config ? compileAlpnOverrides(config) : {};
    if (!overrides) throw new ResourceRejectedError(cc.resource, `${cc.field}.typed_config`, `expected ${ISTIO_ALPN_TYPE_URL}, got ${config?.typeUrl}`);
    return {
      name,
      decodeHeaders(ctx) {
        // HTTP/1.0 downstream requests go upstream as HTTP/1.0 (Envoy's HTTP10 entry), else HTTP11/HTTP2 by pool.
        ctx.upstreamAlpn = ctx.protocol === "HTTP/1.0" && overrides.http10 ? { ...overrides, http1: overrides.http10 } : overrides;
        return undefined;
      },
    };
  },
};
