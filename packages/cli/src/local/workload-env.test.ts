import { describe, expect, it } from "vitest";
import { LocalError } from "./errors.js";
import { appEnv, expandCommand, sidecarEnv } from "./workload-env.js";
import { buildPlan } from "./plan.js";

describe("the local-command contract", () => {
  const plan = buildPlan(
    [
      {
        apiVersion: "apps/v1",
        kind: "Deployment",
        metadata: { name: "reviews-v2" },
        spec: {
          template: {
            metadata: { labels: { app: "reviews" }, annotations: { "weft.dev/local-command": '["node", "${WEFT_SAMPLES}/dist/bin/reviews.js"]' } },
            spec: { serviceAccountName: "bookinfo-reviews", containers: [{ ports: [{ containerPort: 9080 }], env: [{ name: "LOG_DIR", value: "/tmp/logs" }, { name: "MY_POD", valueFrom: { fieldRef: { fieldPath: "metadata.name" } } }] }] },
          },
        },
      },
    ],
    { mode: "transparent", ingressPort: 8080 },
  );
  const pod = plan.pods[0];
  const env = appEnv(plan, pod, "/opt/samples");

  it("gives the app the contract's variables and the container's env", () => {
    expect(env).toMatchObject({ PORT: "9080", BIND_ADDRESS: "0.0.0.0", POD_IP: pod.ip, POD_NAME: "reviews-v2-0", HOSTNAME: "reviews-v2-0", POD_NAMESPACE: "default", SERVICE_ACCOUNT: "bookinfo-reviews", WEFT_SAMPLES: "/opt/samples", NODE: process.execPath, LOG_DIR: "/tmp/logs", MY_POD: "reviews-v2-0" });
  });

  it("expands ${VAR} and $$", () => {
    expect(expandCommand(["${NODE}", "${WEFT_SAMPLES}/x.js", "--price=$$5", "$HOME"], env)).toEqual([process.execPath, "/opt/samples/x.js", "--price=$5", "$HOME"]);
  });

  it("names the workload and the variable when one has no value", () => {
    expect(() => expandCommand(["${SECRET}"], env, "default/reviews-v2-0")).toThrow(LocalError);
    expect(() => expandCommand(["${SECRET}"], env, "default/reviews-v2-0")).toThrow(/default\/reviews-v2-0.*\$\{SECRET\}/);
    const noPort = { ...env, PORT: "" };
    expect(() => expandCommand(["--port", "${PORT}"], noPort)).toThrow(/PORT/);
  });

  it("explicit mode: the app binds its own address and uses its sidecar as HTTP proxy; the sidecar binds the pod's", () => {
    const explicit = buildPlan(plan.rendered.filter((m) => m.kind === "Deployment"), { mode: "explicit", ingressPort: 8080 });
    const p = explicit.pods[0];
    expect(appEnv(explicit, p, "/opt/samples")).toMatchObject({ BIND_ADDRESS: p.appIp, PORT: "9080", HTTP_PROXY: `http://${p.ip}:15001`, http_proxy: `http://${p.ip}:15001` });
    expect(sidecarEnv(p, "/a", "/p", "127.0.0.1:15010", "explicit")).toMatchObject({ ISTIO_META_INTERCEPTION_MODE: "NONE", WEFT_BIND_ADDRESS: p.ip, ISTIO_META_WEFT_APP_ADDRESS: p.appIp, INSTANCE_IP: p.ip });
    expect(sidecarEnv(pod, "/a", "/p", "10.210.0.1:15010")).toMatchObject({ ISTIO_META_INTERCEPTION_MODE: "REDIRECT" });
    expect(sidecarEnv(pod, "/a", "/p", "10.210.0.1:15010").WEFT_BIND_ADDRESS).toBeUndefined();
  });
});
