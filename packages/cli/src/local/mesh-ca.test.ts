import { mkdtempSync, readFileSync, rmSync, statSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { provisionLocalCa } from "./mesh-ca.js";

let dir: string | undefined;
afterEach(() => {
  if (dir) rmSync(dir, { recursive: true, force: true });
});

describe("provisionLocalCa()", () => {
  it("records one token per workload in the file discovery's CA reads, and gives each agent its own", () => {
    const d = mkdtempSync(join(tmpdir(), "weft-mesh-ca-"));
    dir = d;
    const pods = [
      { name: "sleep-0", namespace: "default", serviceAccount: "sleep" },
      { name: "istio-ingressgateway-local", namespace: "istio-system", serviceAccount: "istio-ingressgateway-service-account" },
    ];
    const ca = provisionLocalCa(d, "10.88.0.1", pods);
    expect(ca.discoveryArgs).toEqual(["--ca-dir", join(d, "ca"), "--ca-addr", "10.88.0.1:15012", "--trust-domain", "cluster.local"]);
    expect(statSync(join(d, "ca")).mode & 0o777).toBe(0o711);
    const file = join(dir, "ca", "workloads.json");
    expect(statSync(file).mode & 0o777).toBe(0o600);
    const creds = JSON.parse(readFileSync(file, "utf8")) as Record<string, { namespace: string; serviceAccount: string }>;
    expect(Object.values(creds)).toEqual([
      { namespace: "default", serviceAccount: "sleep" },
      { namespace: "istio-system", serviceAccount: "istio-ingressgateway-service-account" },
    ]);
    for (const token of Object.keys(creds)) expect(token.length).toBeGreaterThanOrEqual(32);

    const env = ca.agentEnv(pods[0]!, join(d, "pods/sleep/secrets"));
    expect(env).toEqual({
      WEFT_DISCOVERY_ADDRESS: "10.88.0.1:15012",
      CA_ADDR: "10.88.0.1:15012",
      WEFT_CA_TOKEN_FILE: join(d, "pods/sleep/secrets/istio-token"),
      WEFT_CA_ROOT_CERT: join(dir, "ca", "root-cert.pem"),
      WEFT_CA_SERVERNAME: "istiod.istio-system.svc",
    });
    const token = readFileSync(env.WEFT_CA_TOKEN_FILE!, "utf8").trim();
    expect(creds[token]).toEqual({ namespace: "default", serviceAccount: "sleep" });
    expect(statSync(env.WEFT_CA_TOKEN_FILE!).mode & 0o777).toBe(0o400);
    expect(() => ca.agentEnv({ name: "x", namespace: "default", serviceAccount: "x" }, join(d, "x"))).toThrow(/no CA token was provisioned for default\/x/);
  });
});
