// Weft's copies of istio/proxy's filter configs must use Istio's field
// numbers: a real istiod sends these messages as bytes inside an Any, so a
// renumbered field would be misread (or clash on wire type) in a Weft proxy.
// The bytes below are written by hand from Istio's config.proto numbering.
import { fromBinary, toBinary, create } from "@bufbuild/protobuf";
import { describe, expect, it } from "vitest";
import { MetadataExchangeSchema } from "./gen/istio/proxy/metadata_exchange_pb.js";
import { PluginConfigSchema, Reporter } from "./gen/istio/proxy/stats_pb.js";

function tag(field: number, wireType: number): number {
  return (field << 3) | wireType;
}

function lengthDelimited(field: number, body: Uint8Array): number[] {
  return [tag(field, 2), body.length, ...body];
}

const utf8 = (s: string): Uint8Array => new TextEncoder().encode(s);

describe("istio.stats PluginConfig wire format", () => {
  it("decodes a config encoded with Istio's field numbers", () => {
    const metric = new Uint8Array([
      ...lengthDelimited(2, utf8("requests_total")), // MetricConfig.name = 2
      ...lengthDelimited(3, utf8("source_app")), // MetricConfig.tags_to_remove = 3
    ]);
    const dropped = new Uint8Array([...lengthDelimited(2, utf8("request_bytes")), tag(5, 0), 1]); // drop = 5
    const dimension = new Uint8Array([...lengthDelimited(1, utf8("k")), ...lengthDelimited(2, utf8("'v'"))]);
    const withDimension = new Uint8Array(lengthDelimited(1, dimension)); // dimensions = 1 (map entry)
    const definition = new Uint8Array([...lengthDelimited(1, utf8("c")), ...lengthDelimited(2, utf8("1")), tag(3, 0), 0]);
    const bytes = new Uint8Array([
      tag(6, 0), 1, // disable_host_header_fallback = 6
      ...lengthDelimited(7, new Uint8Array([tag(1, 0), 5])), // tcp_reporting_duration = 7 (5s)
      ...lengthDelimited(8, metric), // metrics = 8
      ...lengthDelimited(8, dropped),
      ...lengthDelimited(8, withDimension),
      ...lengthDelimited(9, definition), // definitions = 9
      tag(10, 0), 1, // reporter = 10 (SERVER_GATEWAY)
      ...lengthDelimited(11, new Uint8Array([tag(1, 0), 60])), // rescoping_duration = 11
      ...lengthDelimited(12, new Uint8Array([tag(1, 0), 15])), // scope_grace_period_duration = 12
    ]);
    const cfg = fromBinary(PluginConfigSchema, bytes);
    expect(cfg.disableHostHeaderFallback).toBe(true);
    expect(cfg.tcpReportingDuration?.seconds).toBe(5n);
    expect(cfg.metrics.map((m) => [m.name, m.tagsToRemove, m.drop])).toEqual([
      ["requests_total", ["source_app"], false],
      ["request_bytes", [], true],
      ["", [], false],
    ]);
    expect(cfg.metrics[2]?.dimensions).toEqual({ k: "'v'" });
    expect(cfg.definitions.map((d) => [d.name, d.value])).toEqual([["c", "1"]]);
    expect(cfg.reporter).toBe(Reporter.SERVER_GATEWAY);
    expect(cfg.rescopingDuration?.seconds).toBe(60n);
    expect(cfg.scopeGracePeriodDuration?.seconds).toBe(15n);
    expect(cfg.$unknown ?? []).toEqual([]);
  });

  it("encodes disable_host_header_fallback as field 6, as istiod's inbound listeners carry it", () => {
    expect([...toBinary(PluginConfigSchema, create(PluginConfigSchema, { disableHostHeaderFallback: true }))]).toEqual([tag(6, 0), 1]);
  });
});

describe("envoy.tcp.metadataexchange.config.MetadataExchange wire format", () => {
  it("decodes istiod's TCPListenerMx / TCPClusterMx config encoded with Istio's field numbers", () => {
    const bytes = new Uint8Array([
      ...lengthDelimited(1, utf8("istio-peer-exchange")), // protocol = 1
      tag(2, 0), 1, // enable_discovery = 2
      ...lengthDelimited(3, utf8("role")), // additional_labels = 3
      ...lengthDelimited(3, utf8("location")),
    ]);
    const mx = fromBinary(MetadataExchangeSchema, bytes);
    expect(mx.protocol).toBe("istio-peer-exchange");
    expect(mx.enableDiscovery).toBe(true);
    expect(mx.additionalLabels).toEqual(["role", "location"]);
    expect(mx.$unknown ?? []).toEqual([]);
  });

  it("encodes protocol as field 1, as istiod's pre-1.22 MessageToAny config carries it", () => {
    expect([...toBinary(MetadataExchangeSchema, create(MetadataExchangeSchema, { protocol: "istio-peer-exchange" }))]).toEqual(lengthDelimited(1, utf8("istio-peer-exchange")));
  });
});
