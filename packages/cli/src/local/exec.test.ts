import { describe, expect, it } from "vitest";
import { LocalError } from "./errors.js";
import { execInWorkload } from "./exec.js";
import { buildPlan } from "./plan.js";
import type { LocalState } from "./state.js";

const deployment = (name: string, inject = true) => ({
  apiVersion: "apps/v1",
  kind: "Deployment",
  metadata: { name },
  spec: { template: { metadata: { labels: { app: name }, annotations: inject ? {} : { "sidecar.istio.io/inject": "false" } }, spec: { containers: [{}] } } },
});

const { rendered: _rendered, ...plan } = buildPlan([deployment("sleep"), deployment("plain", false)], { mode: "transparent", ingressPort: 8080 });
const state = { version: 1, stateDir: "/nowhere", configDir: "/nowhere/config", startedAt: "", discovery: { grpcAddress: "", httpAddress: "", monitoringAddress: "" }, plan, processes: [] } as LocalState;

describe("execInWorkload()", () => {
  it("knows only the app and istio-proxy containers", () => {
    expect(() => execInWorkload(state, "sleep", ["true"], "app")).toThrow(LocalError);
    expect(() => execInWorkload(state, "sleep", ["true"], "app")).toThrow(/no container app in sleep/);
  });

  it("refuses -c istio-proxy for a workload without a sidecar", () => {
    expect(() => execInWorkload(state, "plain", ["true"], "istio-proxy")).toThrow(/plain has no sidecar/);
  });

  it("needs a command", () => {
    expect(() => execInWorkload(state, "sleep", [])).toThrow(/no command given/);
  });
});
