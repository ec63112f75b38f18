// Filter configs written as TypedStruct (as Istio's EnvoyFilter examples write
// them) reach the filter of their inner type, on the HCM and per route; a
// struct that does not fit its type rejects the listener, naming the problem.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { httpListener, staticCluster, startRuntime, type Harness } from "../test-util/runtime-harness.js";
import { curl, startBackend, type Backend } from "../test-util/recording-backend.js";

const FAULT = "type.googleapis.com/envoy.extensions.filters.http.fault.v3.HTTPFault";
const ROUTER = { name: "envoy.filters.http.router", typed_config: { "@type": "type.googleapis.com/envoy.extensions.filters.http.router.v3.Router" } };
const udpa = (value: Record<string, unknown>) => ({ "@type": "type.googleapis.com/udpa.type.v1.TypedStruct", type_url: FAULT, value });
const xds = (value: Record<string, unknown>) => ({ "@type": "type.googleapis.com/xds.type.v3.TypedStruct", type_url: FAULT, value });

function listener(faultConfig: unknown, routeExtra: Record<string, unknown> = {}) {
  return httpListener(
    "l",
    [
      {
        name: "v",
        domains: ["*"],
        routes: [
          { match: { prefix: "/per-route" }, route: { cluster: "be" }, ...routeExtra },
          { match: { prefix: "/" }, route: { cluster: "be" } },
        ],
      },
    ],
    { http_filters: [{ name: "envoy.filters.http.fault", typed_config: faultConfig }, ROUTER] },
  );
}

describe("TypedStruct filter configs", () => {
  let be: Backend;
  let h: Harness;
  beforeAll(async () => {
    be = await startBackend(() => ({ status: 200, body: "ok" }));
    h = await startRuntime({
      clusters: [staticCluster("be", [be.port])],
      // HCM: aborts only when the request asks (header_abort); the route: always, with 503.
      listeners: [listener(udpa({ abort: { header_abort: {}, percentage: { numerator: 100 } } }), { typed_per_filter_config: { "envoy.filters.http.fault": xds({ abort: { http_status: 503, percentage: { numerator: 100 } } }) } })],
    });
  });
  afterAll(async () => {
    await h?.close();
    await be?.close();
  });

  it("configures the HCM's filter from a udpa TypedStruct", async () => {
    expect((await curl(h.port("l"), "/")).status).toBe(200);
    expect((await curl(h.port("l"), "/", { headers: { "x-envoy-fault-abort-request": "418" } })).status).toBe(418);
  });

  it("configures a route's override from an xds.type.v3 TypedStruct", async () => {
    const r = await curl(h.port("l"), "/per-route");
    expect(r.status).toBe(503);
    expect(r.body).toBe("fault filter abort");
  });

  it("rejects a struct that does not fit its type, naming the type and the field", async () => {
    await expect(startRuntime({ clusters: [staticCluster("be", [be.port])], listeners: [listener(udpa({ abort: { http_status: "many" } }))] })).rejects.toThrow(
      /http_filters\[0\]\.typed_config\.value.*TypedStruct value is not a valid envoy\.extensions\.filters\.http\.fault\.v3\.HTTPFault/,
    );
    await expect(startRuntime({ clusters: [staticCluster("be", [be.port])], listeners: [listener(udpa({ no_such_field: 1 }))] })).rejects.toThrow(/not a valid envoy\.extensions\.filters\.http\.fault\.v3\.HTTPFault/);
  });
});
