import { mkdtemp, readFile, rm, stat, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { createLocalAuthenticator } from "./local-authenticator.js";
import { addWorkloadCredential, removeWorkloadCredential } from "./workload-credentials.js";
import { silentLogger } from "./ca-test-util.js";

let dir: string;
beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), "weft-creds-"));
});
afterEach(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe("addWorkloadCredential()", () => {
  it("writes tokens the local authenticator accepts, 0600, none lost under concurrency", async () => {
    const file = join(dir, "workloads.json");
    const tokens = await Promise.all(["a", "b", "c", "d"].map((sa) => addWorkloadCredential(file, { namespace: "default", serviceAccount: sa })));
    expect(new Set(tokens).size).toBe(4);
    expect(tokens.every((t) => t.length >= 43)).toBe(true);
    expect((await stat(file)).mode & 0o777).toBe(0o600);
    const auth = createLocalAuthenticator({ credentialsFile: file, logger: silentLogger });
    for (const [i, sa] of ["a", "b", "c", "d"].entries()) {
      expect(await auth.authenticate(new Headers({ authorization: `Bearer ${tokens[i]}` }))).toMatchObject({ namespace: "default", serviceAccount: sa });
    }
    expect(await removeWorkloadCredential(file, tokens[0]!)).toBe(true);
    expect(await removeWorkloadCredential(file, tokens[0]!)).toBe(false);
    expect(Object.keys(JSON.parse(await readFile(file, "utf8")) as object)).toHaveLength(3);
  });

  it("refuses bad names and a file the CA would reject", async () => {
    const file = join(dir, "workloads.json");
    await expect(addWorkloadCredential(file, { namespace: "Bad_NS", serviceAccount: "x" })).rejects.toThrow(/namespace "Bad_NS"/);
    await writeFile(file, "[]");
    await expect(addWorkloadCredential(file, { namespace: "default", serviceAccount: "x" })).rejects.toThrow(/expected an object/);
  });
});
