// Protobuf merge on Envoy JSON, field kind by field kind, as istio's
// pkg/proto/merge behaves on the messages.
import { ClusterSchema } from "@weft/xds-api/gen/envoy/config/cluster/v3/cluster_pb.js";
import { RouteSchema } from "@weft/xds-api/gen/envoy/config/route/v3/route_components_pb.js";
import { describe, expect, it } from "vitest";
import { mergeAny, mergeMessage } from "./merge.js";

const HCM = "type.googleapis.com/envoy.extensions.filters.network.http_connection_manager.v3.HttpConnectionManager";

describe("mergeMessage()", () => {
  it("merges nested messages, appends lists, replaces scalars and durations", () => {
    const dst = { name: "c", connect_timeout: "10.500s", circuit_breakers: { thresholds: [{ max_connections: 1 }] }, common_lb_config: { healthy_panic_threshold: { value: 10 } } };
    const src = { connect_timeout: "2s", circuit_breakers: { thresholds: [{ max_connections: 2 }] }, common_lb_config: { update_merge_window: "1s" } };
    expect(mergeMessage(ClusterSchema, dst, src)).toEqual({
      name: "c",
      connect_timeout: "2s",
      circuit_breakers: { thresholds: [{ max_connections: 1 }, { max_connections: 2 }] },
      common_lb_config: { healthy_panic_threshold: { value: 10 }, update_merge_window: "1s" },
    });
    expect(dst.circuit_breakers.thresholds).toHaveLength(1);
  });

  it("replaces map entries per key, and a Struct's keys (filter_metadata.istio is replaced whole)", () => {
    const dst = { metadata: { filter_metadata: { istio: { services: ["a"], config: "x" }, other: { k: 1 } } } };
    const src = { metadata: { filter_metadata: { istio: { subset: "v1" } } } };
    expect(mergeMessage(ClusterSchema, dst, src)).toEqual({ metadata: { filter_metadata: { istio: { subset: "v1" }, other: { k: 1 } } } });
  });

  it("setting one member of a oneof clears the others", () => {
    expect(mergeMessage(RouteSchema, { name: "r", route: { cluster: "a" } }, { direct_response: { status: 404 } })).toEqual({ name: "r", direct_response: { status: 404 } });
  });
});

describe("mergeAny()", () => {
  it("merges the same @type field-wise", () => {
    expect(mergeAny({ "@type": HCM, stat_prefix: "in", http_filters: [{ name: "a" }] }, { "@type": HCM, common_http_protocol_options: { idle_timeout: "30s" }, http_filters: [{ name: "b" }] })).toEqual({
      "@type": HCM,
      stat_prefix: "in",
      http_filters: [{ name: "a" }, { name: "b" }],
      common_http_protocol_options: { idle_timeout: "30s" },
    });
  });

  it("replaces on a different @type", () => {
    const other = { "@type": "type.googleapis.com/envoy.extensions.filters.network.tcp_proxy.v3.TcpProxy", stat_prefix: "t", cluster: "c" };
    expect(mergeAny({ "@type": HCM, stat_prefix: "in" }, other)).toEqual(other);
  });
});
