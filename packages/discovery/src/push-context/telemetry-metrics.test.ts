import { describe, expect, it } from "vitest";
import { proxyOf } from "../test-util/mesh-fixtures.js";
import { productpageProxy, smallPush } from "../test-util/small-mesh.js";
import { applicableTelemetries, metricsReporting } from "./telemetry-metrics.js";

const telemetry = (ns: string, name: string, spec: string, created = "2024-01-01T00:00:00Z"): string => `---
apiVersion: telemetry.istio.io/v1
kind: Telemetry
metadata: { name: ${name}, namespace: ${ns}, creationTimestamp: "${created}" }
spec: ${spec}
`;
const OFF = `{ metrics: [{ providers: [{ name: prometheus }], overrides: [{ disabled: true }] }] }`;
const ON = `{ metrics: [{ providers: [{ name: prometheus }] }] }`;
const reporting = (yaml: string, proxy = productpageProxy()) => metricsReporting(smallPush(yaml), proxy);
const BOTH = { client: true, server: true };
const NONE = { client: false, server: false };

describe("metricsReporting()", () => {
  it("reports both ways with no Telemetry (prometheus is the default metrics provider)", () => {
    expect(reporting("")).toEqual(BOTH);
  });

  it("turns both off for a blanket disable: no match, ALL_METRICS, or a match naming only the mode", () => {
    expect(reporting(telemetry("istio-system", "mesh", OFF))).toEqual(NONE);
    expect(reporting(telemetry("istio-system", "mesh", `{ metrics: [{ overrides: [{ match: { metric: ALL_METRICS, mode: CLIENT_AND_SERVER }, disabled: true }] }] }`))).toEqual(NONE);
    expect(reporting(telemetry("default", "ns", `{ metrics: [{ overrides: [{ match: { mode: CLIENT_AND_SERVER }, disabled: true }] }] }`))).toEqual(NONE);
  });

  it("turns one direction off for a CLIENT or SERVER override", () => {
    expect(reporting(telemetry("default", "ns", `{ metrics: [{ overrides: [{ match: { mode: CLIENT }, disabled: true }] }] }`))).toEqual({ client: false, server: true });
    expect(reporting(telemetry("default", "ns", `{ metrics: [{ overrides: [{ match: { mode: SERVER }, disabled: true }] }] }`))).toEqual({ client: true, server: false });
  });

  it("keeps the filter when only some metrics are disabled", () => {
    expect(reporting(telemetry("default", "ns", `{ metrics: [{ overrides: [{ match: { metric: REQUEST_COUNT }, disabled: true }] }] }`))).toEqual(BOTH);
    expect(reporting(telemetry("default", "ns", `{ metrics: [{ overrides: [{ match: { customMetric: my_metric }, disabled: true }] }] }`))).toEqual(BOTH);
  });

  it("lets a namespace, then a workload, override the root namespace", () => {
    const rootOff = telemetry("istio-system", "mesh", OFF);
    expect(reporting(rootOff + telemetry("default", "ns", `{ metrics: [{ overrides: [{ match: { mode: CLIENT }, disabled: false }] }] }`))).toEqual({ client: true, server: false });
    const nsOff = rootOff + telemetry("default", "ns", OFF);
    expect(reporting(nsOff + telemetry("default", "pp", `{ selector: { matchLabels: { app: productpage } }, metrics: [{ overrides: [{ disabled: false }] }] }`))).toEqual(BOTH);
    // The workload Telemetry selects productpage only.
    const reviews = proxyOf({ ip: "10.1.0.1", pod: "reviews-v1", namespace: "default", labels: { app: "reviews", version: "v1" } });
    expect(reporting(nsOff + telemetry("default", "pp", `{ selector: { matchLabels: { app: productpage } }, metrics: [{ overrides: [{ disabled: false }] }] }`), reviews)).toEqual(NONE);
  });

  it("follows the last entry naming providers: another provider turns prometheus off, naming prometheus again turns it on", () => {
    expect(reporting(telemetry("istio-system", "mesh", `{ metrics: [{ providers: [{ name: stackdriver }] }] }`))).toEqual(NONE);
    expect(reporting(telemetry("istio-system", "mesh", `{ metrics: [{ providers: [{ name: stackdriver }] }] }`) + telemetry("default", "ns", ON))).toEqual(BOTH);
    // An entry without providers inherits the previous entry's, prometheus included: its blanket disable applies.
    expect(reporting(telemetry("istio-system", "mesh", `{ metrics: [{ providers: [{ name: prometheus }, { name: stackdriver }] }, { overrides: [{ disabled: true }] }] }`))).toEqual(NONE);
    // ...but not after an entry that named another provider only.
    expect(reporting(telemetry("default", "ns", `{ metrics: [{ providers: [{ name: stackdriver }] }, { overrides: [{ disabled: true }] }, { providers: [{ name: prometheus }] }] }`))).toEqual(BOTH);
  });

  it("ignores a Telemetry whose providers are only for access logs or tracing", () => {
    expect(reporting(telemetry("istio-system", "mesh", `{ accessLogging: [{ providers: [{ name: envoy }] }] }`))).toEqual(BOTH);
  });
});

describe("applicableTelemetries()", () => {
  it("takes the oldest namespace-wide Telemetry of the root and of the proxy's namespace, then the selecting ones", () => {
    const push = smallPush(
      telemetry("istio-system", "mesh-new", ON, "2024-02-01T00:00:00Z") +
        telemetry("istio-system", "mesh-old", ON, "2024-01-01T00:00:00Z") +
        telemetry("default", "ns", ON) +
        telemetry("default", "empty-selector", `{ selector: { matchLabels: {} }, ${ON.slice(1)}`, "2024-03-01T00:00:00Z") +
        telemetry("default", "pp", `{ selector: { matchLabels: { app: productpage } }, ${ON.slice(1)}`) +
        telemetry("default", "reviews", `{ selector: { matchLabels: { app: reviews } }, ${ON.slice(1)}`) +
        telemetry("default", "gw-attached", `{ targetRefs: [{ kind: Gateway, group: gateway.networking.k8s.io, name: gw }], ${ON.slice(1)}`, "2023-01-01T00:00:00Z") +
        telemetry("other", "pp-elsewhere", `{ selector: { matchLabels: { app: productpage } }, ${ON.slice(1)}`),
    );
    expect(applicableTelemetries(push, productpageProxy()).map((t) => `${t.namespace}/${t.name}`)).toEqual(["istio-system/mesh-old", "default/ns", "default/pp"]);
  });

  it("doesn't apply the root namespace's Telemetry twice to a proxy in the root namespace", () => {
    const push = smallPush(telemetry("istio-system", "mesh", OFF));
    const gw = proxyOf({ type: "router", ip: "10.1.0.30", pod: "ingress", namespace: "istio-system", labels: { istio: "ingressgateway" } });
    expect(applicableTelemetries(push, gw).map((t) => t.name)).toEqual(["mesh"]);
    expect(metricsReporting(push, gw)).toEqual(NONE);
  });
});
