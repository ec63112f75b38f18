import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { AuthenticationError } from "./authenticator.js";
import { createLocalAuthenticator, parseWorkloadCredentials } from "./local-authenticator.js";
import { silentLogger } from "./ca-test-util.js";

const T1 = "a".repeat(43);
const T2 = "b".repeat(43);
const bearer = (t: string) => new Headers({ authorization: `Bearer ${t}` });

describe("parseWorkloadCredentials()", () => {
  it.each([
    ["not JSON", "{", /creds\.json: not JSON/],
    ["an array", "[]", /expected an object mapping token/],
    ["a short token", JSON.stringify({ short: { namespace: "a", serviceAccount: "b" } }), /entry #1: token is shorter than 32/],
    ["a missing field", JSON.stringify({ [T1]: { namespace: "a" } }), /entry #1: expected \{"namespace": string/],
    ["a bad namespace", JSON.stringify({ [T1]: { namespace: "A/B", serviceAccount: "b" } }), /entry #1: namespace "A\/B"/],
  ])("rejects %s, naming the file and entry", (_n, text, msg) => {
    expect(() => parseWorkloadCredentials(text, "creds.json")).toThrow(msg);
  });

  it("never puts a token in an error message", () => {
    const secret = "s3cr3t-token-value";
    expect(() => parseWorkloadCredentials(JSON.stringify({ [secret]: { namespace: "a", serviceAccount: "b" } }), "f")).toThrow(/^(?!.*s3cr3t)/);
  });
});

describe("createLocalAuthenticator()", () => {
  let dir: string;
  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), "weft-auth-"));
  });
  afterEach(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it("maps a token to its workload and picks up new workloads when the file changes", async () => {
    const file = join(dir, "workloads.json");
    await writeFile(file, JSON.stringify({ [T1]: { namespace: "default", serviceAccount: "sleep" } }));
    const auth = createLocalAuthenticator({ credentialsFile: file, logger: silentLogger });
    expect(await auth.authenticate(bearer(T1))).toEqual({ namespace: "default", serviceAccount: "sleep", authenticator: "local" });
    await expect(auth.authenticate(bearer(T2))).rejects.toThrow(/^authentication failed$/);
    await writeFile(file, JSON.stringify({ [T1]: { namespace: "default", serviceAccount: "sleep" }, [T2]: { namespace: "prod", serviceAccount: "httpbin" } }, null, 2));
    expect(await auth.authenticate(bearer(T2))).toMatchObject({ namespace: "prod", serviceAccount: "httpbin" });
  });

  it("keeps the previous credentials when the file becomes invalid", async () => {
    const file = join(dir, "workloads.json");
    await writeFile(file, JSON.stringify({ [T1]: { namespace: "default", serviceAccount: "sleep" } }));
    const auth = createLocalAuthenticator({ credentialsFile: file, logger: silentLogger });
    await auth.authenticate(bearer(T1));
    await writeFile(file, "{ broken");
    expect(await auth.authenticate(bearer(T1))).toMatchObject({ serviceAccount: "sleep" });
  });

  it("treats a missing file as no workloads, and a missing header as unauthenticated", async () => {
    const auth = createLocalAuthenticator({ credentialsFile: join(dir, "nope.json"), logger: silentLogger });
    await expect(auth.authenticate(bearer(T1))).rejects.toBeInstanceOf(AuthenticationError);
    await expect(auth.authenticate(new Headers())).rejects.toThrow(/no credential/);
  });
});
