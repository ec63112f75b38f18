import { create, fromJson } from "@bufbuild/protobuf";
import { anyPack } from "@bufbuild/protobuf/wkt";
import { describe, expect, it } from "vitest";
import { PluginConfigSchema, Reporter } from "@weft/xds-api/gen/istio/proxy/stats_pb.js";
import { TypedStructSchema } from "@weft/xds-api/gen/udpa/type/v1/typed_struct_pb.js";
import { DEFAULT_TCP_REPORTING_MS, statsPluginConfigOf, tcpReportingMs } from "./stats-plugin-config.js";

describe("statsPluginConfigOf()", () => {
  it("reads stats.PluginConfig itself into JSON with Istio's field names", () => {
    const msg = fromJson(PluginConfigSchema, { tcpReportingDuration: "0.250s", reporter: "SERVER_GATEWAY", disableHostHeaderFallback: true });
    expect(statsPluginConfigOf(anyPack(PluginConfigSchema, msg))).toEqual({ tcp_reporting_duration: "0.250s", reporter: "SERVER_GATEWAY", disable_host_header_fallback: true });
    expect(statsPluginConfigOf(anyPack(PluginConfigSchema, create(PluginConfigSchema, { reporter: Reporter.UNSPECIFIED })))).toEqual({});
  });

  it.each(["type.googleapis.com/udpa.type.v1.TypedStruct", "type.googleapis.com/xds.type.v3.TypedStruct"])("reads it from a %s", (typeUrl) => {
    const ts = anyPack(TypedStructSchema, fromJson(TypedStructSchema, { typeUrl: "type.googleapis.com/stats.PluginConfig", value: { tcp_reporting_duration: "1s" } }));
    expect(statsPluginConfigOf({ ...ts, typeUrl })).toEqual({ tcp_reporting_duration: "1s" });
  });

  it("is undefined for other configs, in a TypedStruct or not", () => {
    const ts = anyPack(TypedStructSchema, fromJson(TypedStructSchema, { typeUrl: "type.googleapis.com/io.istio.network.authn.Config", value: {} }));
    expect(statsPluginConfigOf(ts)).toBeUndefined();
    expect(statsPluginConfigOf({ ...ts, typeUrl: "type.googleapis.com/envoy.extensions.filters.network.rbac.v3.RBAC" })).toBeUndefined();
  });
});

describe("tcpReportingMs()", () => {
  const at = (json: Record<string, unknown>) => {
    const reports: string[] = [];
    return { ms: tcpReportingMs(json as never, (f) => void reports.push(f), "f"), reports };
  };

  it("is Istio's documented 15s when unset, and the configured duration otherwise", () => {
    expect(at({}).ms).toBe(DEFAULT_TCP_REPORTING_MS);
    expect(at({ tcp_reporting_duration: "5s" }).ms).toBe(5000);
    expect(at({ tcpReportingDuration: "0.200s" }).ms).toBe(200);
    expect(at({ tcp_reporting_duration: "0s" }).ms).toBe(0);
  });

  it("reports a value that is not a duration and keeps the default", () => {
    expect(at({ tcp_reporting_duration: "soon" })).toEqual({ ms: DEFAULT_TCP_REPORTING_MS, reports: ["f.tcp_reporting_duration"] });
  });
});
