import { describe, expect, it } from "vitest";
import { loadBootstrap } from "../bootstrap/load-bootstrap.js";
import { ENVOY_REV0_PATH } from "../test-util/testdata.js";
import { AdsConfigError, backoffDelayMs, resolveAdsTarget } from "./ads-target.js";

describe("resolveAdsTarget()", () => {
  it("resolves Istio's xds-grpc static cluster to its Unix socket, relative to the working directory", () => {
    const { bootstrap } = loadBootstrap({ configPath: ENVOY_REV0_PATH });
    expect(resolveAdsTarget(bootstrap, "/var/lib/istio")).toEqual({
      address: { kind: "unix", path: "/var/lib/istio/etc/istio/proxy/XDS" },
      delta: false,
      via: "cluster xds-grpc",
    });
  });

  it("resolves a TCP endpoint and DELTA_GRPC", () => {
    const { bootstrap } = loadBootstrap({
      configYaml: `
dynamic_resources: { ads_config: { api_type: DELTA_GRPC, transport_api_version: V3, grpc_services: [{ envoy_grpc: { cluster_name: xds } }] } }
static_resources: { clusters: [{ name: xds, type: STATIC, connect_timeout: 1s, load_assignment: { cluster_name: xds, endpoints: [{ lb_endpoints: [{ endpoint: { address: { socket_address: { address: 127.0.0.1, port_value: 15010 } } } }] }] } }] }`,
    });
    expect(resolveAdsTarget(bootstrap)).toMatchObject({ address: { kind: "tcp", host: "127.0.0.1", port: 15010 }, delta: true });
  });

  it("names a missing ADS cluster", () => {
    const { bootstrap } = loadBootstrap({
      configYaml: "dynamic_resources: { ads_config: { api_type: GRPC, grpc_services: [{ envoy_grpc: { cluster_name: nope } }] } }",
    });
    expect(() => resolveAdsTarget(bootstrap)).toThrow(AdsConfigError);
    expect(() => resolveAdsTarget(bootstrap)).toThrow(/envoy_grpc\.cluster_name: 'nope' is not a static cluster/);
  });

  it("returns undefined without ads_config", () => {
    expect(resolveAdsTarget(loadBootstrap({ configYaml: "node: { id: x }" }).bootstrap)).toBeUndefined();
  });
});

describe("backoffDelayMs()", () => {
  it("grows from 0.5 s and caps at 30 s, jittered", () => {
    expect(backoffDelayMs(0, () => 0.999)).toBe(499);
    expect(backoffDelayMs(3, () => 0.999)).toBe(3996);
    expect(backoffDelayMs(20, () => 0.999)).toBe(29970);
    expect(backoffDelayMs(20, () => 0)).toBe(250);
  });
});
