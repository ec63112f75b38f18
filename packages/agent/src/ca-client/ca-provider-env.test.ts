import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { loadCaProviderSettings } from "./ca-provider-env.js";

let dir: string;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), "weft-ca-env-"));
  await writeFile(join(dir, "token"), "t".repeat(40));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});
const id = { caAddr: "127.0.0.1:15012", trustDomain: "cluster.local", podNamespace: "default", serviceAccount: "sleep" };

describe("loadCaProviderSettings()", () => {
  it("reads Istio's SECRET_* variables and Weft's file paths", () => {
    expect(
      loadCaProviderSettings(
        { WEFT_CA_TOKEN_FILE: join(dir, "token"), WEFT_CA_ROOT_CERT: "/ca/root-cert.pem", SECRET_TTL: "1m", SECRET_GRACE_PERIOD_RATIO: "0.4", WEFT_CA_SERVERNAME: "istiod.istio-system.svc" },
        id,
      ),
    ).toEqual({
      caAddr: "127.0.0.1:15012",
      rootCertPath: "/ca/root-cert.pem",
      tokenPath: join(dir, "token"),
      servername: "istiod.istio-system.svc",
      spiffeId: "spiffe://cluster.local/ns/default/sa/sleep",
      ttlSeconds: 60,
      graceRatio: 0.4,
      graceRatioJitter: 0.01,
    });
  });

  it("is off when there is no token file at the default path", () => {
    expect(loadCaProviderSettings({}, id)).toBeUndefined();
  });

  it.each([
    [{ WEFT_CA_TOKEN_FILE: "/nope/token" }, id, /WEFT_CA_TOKEN_FILE: \/nope\/token does not exist/],
    [{ SECRET_TTL: "soon" }, id, /SECRET_TTL: "soon" is not a duration/],
    [{ SECRET_GRACE_PERIOD_RATIO: "2" }, id, /SECRET_GRACE_PERIOD_RATIO: "2" is not a ratio/],
    [{}, { ...id, caAddr: "istiod" }, /CA_ADDR "istiod": expected host:port/],
  ])("rejects bad settings, naming the variable (%o)", (env, ident, msg) => {
    const withToken = "WEFT_CA_TOKEN_FILE" in env ? env : { ...env, WEFT_CA_TOKEN_FILE: join(dir, "token") };
    expect(() => loadCaProviderSettings(withToken, ident)).toThrow(msg);
  });
});
