// Istio's `istio.alpn` HTTP filter (istio.envoy.config.filter.http.alpn.v2alpha1.FilterConfig):
// overrides the ALPN the upstream TLS connection offers, per upstream protocol
// (HTTP11 → istio-http/1.1,istio,http/1.1; HTTP2 → istio-h2,istio,h2), so the
// server sidecar's virtualInbound picks its HTTP filter chain by
// application_protocols. Only TLS endpoints see the override.
//
// The config proto is Istio's, not Envoy's (not in the xds-api registry); it
// is three fields, decoded here from the wire:
//   message FilterConfig { repeated AlpnOverride alpn_override = 1; }
//   message AlpnOverride { Protocol upstream_protocol = 1; repeated string alpn_override = 2; }
//   enum Protocol { HTTP10 = 0; HTTP11 = 1; HTTP2 = 2; }
import { ResourceRejectedError } from "../../contracts.js";
import type { HttpFilterFactory } from "../http-filter.js";
import type { UpstreamAlpn } from "../request-context.js";

export const ISTIO_ALPN_TYPE_URL = "type.googleapis.com/istio.envoy.config.filter.http.alpn.v2alpha1.FilterConfig";

function varint(b: Uint8Array, p: { i: number }): number {
  let v = 0;
  let shift = 0;
  for (;;) {
    if (p.i >= b.length) throw new Error("truncated varint");
    const x = b[p.i++];
    v += (x & 0x7f) * 2 ** shift;
    if ((x & 0x80) === 0) return v;
    shift += 7;
    if (shift > 49) throw new Error("varint too long");
  }
}

function fields(b: Uint8Array, visit: (field: number, wire: number, value: number | Uint8Array) => void): void {
  const p = { i: 0 };
  while (p.i < b.length) {
    const key = varint(b, p);
    const field = Math.floor(key / 8);
    const wire = key & 7;
    if (wire === 0) visit(field, wire, varint(b, p));
    else if (wire === 2) {
      const len = varint(b, p);
      if (p.i + len > b.length) throw new Error("truncated field");
      visit(field, wire, b.subarray(p.i, p.i + len));
      p.i += len;
    } else if (wire === 5) p.i += 4;
    else if (wire === 1) p.i += 8;
    else throw new Error(`unsupported wire type ${wire}`);
  }
}

export function decodeAlpnOverrides(value: Uint8Array): UpstreamAlpn {
  const out: UpstreamAlpn = {};
  fields(value, (f, w, v) => {
    if (f !== 1 || w !== 2) return;
    let proto = 0;
    const list: string[] = [];
    fields(v as Uint8Array, (g, gw, gv) => {
      if (g === 1 && gw === 0) proto = gv as number;
      else if (g === 2 && gw === 2) list.push(Buffer.from(gv as Uint8Array).toString("utf8"));
    });
    if (proto === 0) out.http10 = list;
    else if (proto === 1) out.http1 = list;
    else if (proto === 2) out.http2 = list;
  });
  return out;
}

export const istioAlpnFilterFactory: HttpFilterFactory = {
  typeUrls: [ISTIO_ALPN_TYPE_URL],
  perRouteTypeUrls: [],
  create(name, config, cc) {
    let overrides: UpstreamAlpn = {};
    if (config) {
      try {
        overrides = decodeAlpnOverrides(config.value);
      } catch (err) {
        throw new ResourceRejectedError(cc.resource, `${cc.field}.typed_config`, `cannot decode ${ISTIO_ALPN_TYPE_URL}: ${(err as Error).message}`);
      }
    }
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
