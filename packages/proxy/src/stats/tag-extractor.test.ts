import { create } from "@bufbuild/protobuf";
import { StatsConfigSchema } from "@weft/xds-api/gen/envoy/config/metrics/v3/stats_pb";
import { describe, expect, it } from "vitest";
import { loadRev0Bootstrap } from "../test-util/testdata.js";
import { createTagProducer, StatsConfigError, translateStdRegex } from "./tag-extractor.js";

describe("createTagProducer() with Envoy's default tags", () => {
  const producer = createTagProducer();

  it.each([
    ["cluster.outbound|80||x.upstream_rq_total", "cluster.upstream_rq_total", [["envoy.cluster_name", "outbound|80||x"]]],
    ["cluster.a.upstream_rq_200", "cluster.upstream_rq", [["envoy.response_code", "200"], ["envoy.cluster_name", "a"]]],
    ["cluster.a.upstream_rq_2xx", "cluster.upstream_rq_xx", [["envoy.response_code_class", "2"], ["envoy.cluster_name", "a"]]],
    ["http.ingress.downstream_rq_total", "http.downstream_rq_total", [["envoy.http_conn_manager_prefix", "ingress"]]],
    ["listener.0.0.0.0_15006.downstream_cx_total", "listener.downstream_cx_total", [["envoy.listener_address", "0.0.0.0_15006"]]],
    [
      "listener.0.0.0.0_80.http.inbound_80.downstream_rq_total",
      "listener.http.downstream_rq_total",
      [["envoy.http_conn_manager_prefix", "inbound_80"], ["envoy.listener_address", "0.0.0.0_80"]],
    ],
    ["listener.admin.downstream_cx_total", "listener.admin.downstream_cx_total", []],
    ["tcp.inbound_x.downstream_cx_total", "tcp.downstream_cx_total", [["envoy.tcp_prefix", "inbound_x"]]],
    ["server.live", "server.live", []],
  ])("%s → %s", (name, extracted, tags) => {
    const out = producer.produce(name);
    expect(out.name).toBe(extracted);
    expect(out.tags).toEqual(tags);
  });
});

describe("createTagProducer() with Istio's stats_config (envoy-rev0.json)", () => {
  const producer = createTagProducer(loadRev0Bootstrap().statsConfig);

  it("extracts cluster_name with dots in the service FQDN", () => {
    expect(producer.produce("cluster.outbound|80||x.ns.svc.cluster.local.upstream_rq_total")).toEqual({
      name: "cluster.upstream_rq_total",
      tags: [["cluster_name", "outbound|80||x.ns.svc.cluster.local"]],
    });
  });

  it("extracts the response code class; Istio's HCM regex only takes address-like prefixes", () => {
    expect(producer.produce("http.inbound_0.0.0.0_80.downstream_rq_2xx")).toEqual({
      name: "http.inbound_0.0.0.0_80.downstream_rq",
      tags: [["response_code_class", "2xx"]],
    });
    expect(producer.produce("http.10.0.0.1_8080.downstream_rq_total")).toEqual({
      name: "http.downstream_rq_total",
      tags: [["http_conn_manager_prefix", "10.0.0.1_8080"]],
    });
  });

  it("extracts the listener address with the lookahead regex std::regex accepts", () => {
    const out = producer.produce("listener.0.0.0.0_15090.downstream_cx_total");
    expect(out).toEqual({ name: "listener.downstream_cx_total", tags: [["listener_address", "0.0.0.0_15090"]] });
  });
});

describe("createTagProducer() errors", () => {
  it("names the stats_tags entry with a bad regex", () => {
    const config = create(StatsConfigSchema, { statsTags: [{ tagName: "x", tagValue: { case: "regex", value: "(unclosed" } }] });
    expect(() => createTagProducer(config)).toThrow(StatsConfigError);
    expect(() => createTagProducer(config)).toThrow(/stats_config\.stats_tags\[0\]\.regex/);
  });

  it("rejects a tag with no regex that is not a default name", () => {
    const config = create(StatsConfigSchema, { statsTags: [{ tagName: "mine" }] });
    expect(() => createTagProducer(config)).toThrow(/not one of Envoy's default tag names/);
  });

  it("adds fixed_value tags to every stat", () => {
    const config = create(StatsConfigSchema, { useAllDefaultTags: false, statsTags: [{ tagName: "mesh", tagValue: { case: "fixedValue", value: "m1" } }] });
    expect(createTagProducer(config).produce("server.live")).toEqual({ name: "server.live", tags: [["mesh", "m1"]] });
  });
});

describe("translateStdRegex()", () => {
  it("turns POSIX bracket classes into JS classes", () => {
    expect(translateStdRegex("[_.[:digit:]]*")).toBe(String.raw`[_.\d]*`);
  });
});
