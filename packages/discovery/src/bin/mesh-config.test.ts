import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { readMeshConfig } from "./mesh-config.js";

const dir = mkdtempSync(join(tmpdir(), "mesh-config-"));
const file = (name: string, text: string) => {
  const p = join(dir, name);
  writeFileSync(p, text);
  return p;
};

describe("readMeshConfig()", () => {
  it("reads Istio's access-log, traffic-policy and timeout fields, bare or under `mesh:`", () => {
    const bare = file("bare.yaml", "accessLogFile: /dev/stdout\naccessLogEncoding: JSON\noutboundTrafficPolicy: {mode: REGISTRY_ONLY}\nconnectTimeout: 2s\nrootNamespace: istio-system\nenableTracing: true\n");
    expect(readMeshConfig(bare)).toEqual({ accessLogFile: "/dev/stdout", accessLogEncoding: "JSON", outboundTrafficPolicy: "REGISTRY_ONLY", connectTimeoutMs: 2000, rootNamespace: "istio-system" });
    expect(readMeshConfig(file("wrapped.yaml", "mesh:\n  accessLogFile: /dev/stdout\n"))).toEqual({ accessLogFile: "/dev/stdout" });
  });

  it("reads the security fields: trustDomain, trustDomainAliases, enableAutoMtls", () => {
    const sec = file("sec.yaml", "trustDomain: td.example\ntrustDomainAliases: [old.example]\nenableAutoMtls: false\n");
    expect(readMeshConfig(sec)).toEqual({ trustDomain: "td.example", trustDomainAliases: ["old.example"], enableAutoMtls: false });
  });

  it.each([
    ["accessLogEncoding: XML\n", /accessLogEncoding must be TEXT or JSON/],
    ["outboundTrafficPolicy: {mode: SOMETIMES}\n", /ALLOW_ANY or REGISTRY_ONLY/],
    ["connectTimeout: soon\n", /connectTimeout.*not a duration/],
    ["accessLogFile: [a]\n", /accessLogFile must be a path/],
    ["trustDomain: Bad/Domain\n", /trustDomain "Bad\/Domain" must be lower-case/],
    ["trustDomainAliases: old.example\n", /trustDomainAliases must be a list/],
    ["enableAutoMtls: maybe\n", /enableAutoMtls must be true or false/],
    ["- a\n", /expected a mapping/],
    ["a: [unclosed\n", /--mesh-config/],
  ])("rejects %j with a clear error", (text, error) => {
    expect(() => readMeshConfig(file("bad.yaml", text))).toThrow(error);
  });
});
