import { execFileSync } from "node:child_process";
import { mkdirSync, mkdtempSync, readFileSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { applyObjects } from "./apply.js";
import { genericSecret, tlsSecret } from "./create-secret.js";
import { loadManifests } from "./manifests.js";
import type { LocalState } from "./state.js";

const dir = mkdtempSync(join(tmpdir(), "weftctl-secret-"));
/** A self-signed certificate and its key, made by openssl as Istio's Secure Gateways task makes them. */
function keyPair(name: string): { cert: string; key: string } {
  const cert = join(dir, `${name}.crt`);
  const key = join(dir, `${name}.key`);
  execFileSync("openssl", ["req", "-x509", "-sha256", "-nodes", "-days", "1", "-newkey", "rsa:2048", "-subj", `/O=example Inc./CN=${name}`, "-keyout", key, "-out", cert], { stdio: "ignore" });
  return { cert, key };
}
const httpbin = keyPair("httpbin.example.com");
const other = keyPair("other.example.com");
const base64 = (path: string) => readFileSync(path).toString("base64");

describe("tlsSecret()", () => {
  it("builds the kubernetes.io/tls Secret kubectl creates, with tls.crt and tls.key", () => {
    expect(tlsSecret({ name: "httpbin-credential", namespace: "istio-system", ...httpbin })).toEqual({
      apiVersion: "v1",
      kind: "Secret",
      metadata: { name: "httpbin-credential", namespace: "istio-system" },
      type: "kubernetes.io/tls",
      data: { "tls.crt": base64(httpbin.cert), "tls.key": base64(httpbin.key) },
    });
  });

  it("refuses a key that is not the certificate's, without printing the key", () => {
    let message = "";
    try {
      tlsSecret({ name: "x", namespace: "default", cert: httpbin.cert, key: other.key });
    } catch (error) {
      message = (error as Error).message;
    }
    expect(message).toMatch(/does not belong to the certificate/);
    expect(message).not.toContain("PRIVATE KEY");
  });

  it.each([
    ["a missing --key", { cert: httpbin.cert }, /needs --cert and --key/],
    ["a file that is not a certificate", { cert: httpbin.key, key: httpbin.key }, /is not a PEM certificate/],
    ["a file that is not a key", { cert: httpbin.cert, key: httpbin.cert }, /is not a PEM private key/],
    ["a path that does not exist", { cert: join(dir, "nope.crt"), key: httpbin.key }, /cannot read certificate .*nope\.crt: ENOENT/],
    ["an invalid name", { name: "Bad_Name", cert: httpbin.cert, key: httpbin.key }, /not a valid Kubernetes name/],
  ])("refuses %s", (_what, options, message) => {
    expect(() => tlsSecret({ name: "x", namespace: "default", ...options })).toThrow(message);
  });
});

describe("genericSecret()", () => {
  it("keys each --from-file by KEY= or by the file's name, as kubectl does", () => {
    const s = genericSecret({ name: "httpbin-credential", namespace: "istio-system", fromFile: [`tls.crt=${httpbin.cert}`, `tls.key=${httpbin.key}`, `ca.crt=${other.cert}`, httpbin.cert] });
    expect(s.type).toBe("Opaque");
    expect(s.data).toEqual({ "tls.crt": base64(httpbin.cert), "tls.key": base64(httpbin.key), "ca.crt": base64(other.cert), "httpbin.example.com.crt": base64(httpbin.cert) });
  });

  it("refuses a bad key and a key given twice", () => {
    expect(() => genericSecret({ name: "x", namespace: "default", fromFile: [`a/b=${httpbin.cert}`] })).toThrow(/not a valid secret key/);
    expect(() => genericSecret({ name: "x", namespace: "default", fromFile: [`k=${httpbin.cert}`, `k=${other.cert}`] })).toThrow(/given twice/);
    expect(() => genericSecret({ name: "x", namespace: "default" })).toThrow(/at least one --from-file/);
  });
});

describe("applyObjects() with a Secret", () => {
  it("writes it where discovery reads config, readable by this user alone", () => {
    const configDir = join(dir, "config");
    mkdirSync(configDir);
    writeFileSync(join(configDir, "10-manifests.yaml"), "apiVersion: v1\nkind: Namespace\nmetadata: {name: istio-system}\n");
    const state = { configDir } as LocalState;
    expect(applyObjects(state, [tlsSecret({ name: "httpbin-credential", namespace: "istio-system", ...httpbin })])).toEqual(["Secret/istio-system/httpbin-credential"]);
    const [secret] = loadManifests([join(configDir, "50-applied.yaml")]);
    expect(secret).toMatchObject({ kind: "Secret", metadata: { name: "httpbin-credential" }, data: { "tls.crt": base64(httpbin.cert) } });
    expect(statSync(join(configDir, "50-applied.yaml")).mode & 0o777).toBe(0o600);
    expect(statSync(join(configDir, "10-manifests.yaml")).mode & 0o077).not.toBe(0);
  });
});
