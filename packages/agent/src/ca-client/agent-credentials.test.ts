// Which certificate source and XDS transport `weft-agent proxy` picks from its environment.
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import pino from "pino";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { defaultCaAddr, loadAgentEnv } from "../env/agent-env.js";
import { createAgentCredentials } from "./agent-credentials.js";

const log = pino({ level: "silent" });
let dir: string;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), "weft-creds-"));
  await writeFile(join(dir, "token"), "t".repeat(43));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

const base = () => ({ POD_NAMESPACE: "default", SERVICE_ACCOUNT: "sleep", WEFT_AGENT_DIR: dir, WEFT_POD_INFO_DIR: join(dir, "podinfo"), OUTPUT_CERTS: join(dir, "certs") });

async function pick(vars: Record<string, string>) {
  const env = loadAgentEnv(vars);
  const c = await createAgentCredentials(env, vars, log);
  c.certificateProvider.close();
  return c;
}

describe("defaultCaAddr()", () => {
  it.each([
    ["istiod.istio-system.svc:15012", "istiod.istio-system.svc:15012"],
    ["10.88.0.1:15010", "10.88.0.1:15012"],
    ["[::1]:15010", "[::1]:15012"],
    ["discovery:9000", "discovery:9000"],
  ])("%s → %s", (discovery, ca) => expect(defaultCaAddr(discovery)).toBe(ca));
});

describe("createAgentCredentials()", () => {
  it("uses certificate files and plaintext xDS without a CA token", async () => {
    const c = await pick({ ...base(), WEFT_DISCOVERY_ADDRESS: "127.0.0.1:15010" });
    expect(c.mode).toBe("files");
    expect(c.dialer.headers()).toEqual({});
    expect(c.certificateNotReady()).toBeUndefined();
    expect(c.describe()).toMatchObject({ certificates: "files", xds: "plaintext 127.0.0.1:15010" });
  });

  it("uses the CA with a token, xDS over TLS to 15012 with the same token, and is not ready before the first certificate", async () => {
    const c = await pick({ ...base(), WEFT_DISCOVERY_ADDRESS: "127.0.0.1:1", CA_ADDR: "127.0.0.1:1", WEFT_CA_TOKEN_FILE: join(dir, "token"), WEFT_CA_ROOT_CERT: join(dir, "nope.pem"), SECRET_TTL: "60s" });
    expect(c.mode).toBe("ca");
    expect(c.describe()).toMatchObject({ certificates: "CA 127.0.0.1:1", identity: "spiffe://cluster.local/ns/default/sa/sleep", ttlSeconds: 60, xds: "TLS 127.0.0.1:1" });
    expect(c.dialer.headers()).toEqual({ authorization: `Bearer ${"t".repeat(43)}` });
    expect(c.certificateNotReady()).toMatch(/^no workload certificate yet from the CA at 127\.0\.0\.1:1/);
  });

  it("derives the CA address from a plaintext discovery address and keeps xDS plaintext there", async () => {
    const c = await pick({ ...base(), WEFT_DISCOVERY_ADDRESS: "10.88.0.1:15010", WEFT_CA_TOKEN_FILE: join(dir, "token") });
    expect(c.describe()).toMatchObject({ certificates: "CA 10.88.0.1:15012", xds: "plaintext 10.88.0.1:15010" });
  });

  it("keeps xDS plaintext with controlPlaneAuthPolicy NONE", async () => {
    const c = await pick({ ...base(), PROXY_CONFIG: JSON.stringify({ discoveryAddress: "d:15012", controlPlaneAuthPolicy: "NONE" }), WEFT_CA_TOKEN_FILE: join(dir, "token") });
    expect(c.describe()).toMatchObject({ certificates: "CA d:15012", xds: "plaintext d:15012" });
  });

  it("uses files when FILE_MOUNTED_CERTS=true even with a token", async () => {
    const c = await pick({ ...base(), FILE_MOUNTED_CERTS: "true", WEFT_CA_TOKEN_FILE: join(dir, "token") });
    expect(c.mode).toBe("files");
  });

  it("names a missing token file that was asked for", async () => {
    await expect(pick({ ...base(), WEFT_CA_TOKEN_FILE: join(dir, "missing") })).rejects.toThrow(/WEFT_CA_TOKEN_FILE: .*missing does not exist/);
  });
});
