import { describe, expect, it } from "vitest";
import { DEFAULT_PROXY_CONFIG, parseProxyConfig, proxyConfigToJson } from "./proxy-config.js";
import { parseDuration } from "./duration.js";

describe("parseProxyConfig()", () => {
  it("applies Istio's defaults to an empty config", () => {
    expect(parseProxyConfig("{}\n")).toEqual(DEFAULT_PROXY_CONFIG);
    expect(parseProxyConfig(undefined).terminationDrainDurationMs).toBe(5000);
  });

  it("reads JSON and YAML, camelCase and snake_case", () => {
    const json = parseProxyConfig('{"discoveryAddress":"127.0.0.1:15010","terminationDrainDuration":"10s","concurrency":4}');
    expect([json.discoveryAddress, json.terminationDrainDurationMs, json.concurrency]).toEqual(["127.0.0.1:15010", 10_000, 4]);
    const yaml = parseProxyConfig("discovery_address: 127.0.0.1:15010\ndrainDuration: 1m30s\nproxyMetadata:\n  ISTIO_META_DNS_CAPTURE: true\n");
    expect(yaml.discoveryAddress).toBe("127.0.0.1:15010");
    expect(yaml.drainDurationMs).toBe(90_000);
    expect(yaml.proxyMetadata).toEqual({ ISTIO_META_DNS_CAPTURE: "true" });
  });

  it("turns tracing off with `tracing: null` and keeps a custom zipkin", () => {
    expect(parseProxyConfig("tracing: null").tracing).toBeUndefined();
    expect(parseProxyConfig('{"tracing":{"zipkin":{"address":"jaeger:9411"},"sampling":10}}').tracing).toEqual({ zipkin: { address: "jaeger:9411" }, sampling: 10 });
  });

  it.each([
    ["[1,2]", /PROXY_CONFIG must be an object/],
    ["concurrency: -1", /PROXY_CONFIG\.concurrency: expected a non-negative integer, got -1/],
    ["drainDuration: soon", /PROXY_CONFIG\.drainDuration: "soon" is not a duration/],
    ["controlPlaneAuthPolicy: SOMETIMES", /controlPlaneAuthPolicy: expected NONE or MUTUAL_TLS/],
    ["tracing: {zipkin: {address: nowhere}}", /tracing\.zipkin\.address: expected "host:port"/],
    ["{: bad", /PROXY_CONFIG is neither JSON nor YAML/],
  ])("rejects %s", (text, message) => {
    expect(() => parseProxyConfig(text)).toThrow(message);
  });

  it("writes node metadata PROXY_CONFIG like Istio", () => {
    expect(proxyConfigToJson(DEFAULT_PROXY_CONFIG)).toMatchObject({ drainDuration: "45s", terminationDrainDuration: "5s", parentShutdownDuration: "60s", tracing: { zipkin: { address: "zipkin.istio-system:9411" } } });
  });
});

describe("parseDuration()", () => {
  it.each([
    ["5s", 5000],
    ["0.250s", 250],
    ["500ms", 500],
    ["1m30s", 90_000],
    ["1h", 3_600_000],
    ["0", 0],
  ])("%s → %d ms", (text, ms) => expect(parseDuration(text)).toBe(ms));
  it("rejects trailing garbage", () => expect(() => parseDuration("5sx", "--timeout")).toThrow(/--timeout: "5sx" is not a duration/));
});
