// Session affinity by a generated cookie: Istio's DestinationRule
// `consistentHash: { httpCookie: { name, ttl } }` becomes a hash_policy cookie
// with a ttl on a RING_HASH cluster. A client without the cookie gets one
// (Set-Cookie, Envoy's format) and, sending it back, stays on one host. curl's
// cookie jar plays the browser.
import { execFile, spawnSync } from "node:child_process";
import { mkdtempSync } from "node:fs";
import * as http from "node:http";
import type { AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { httpListener, staticCluster, startRuntime, type Harness } from "../test-util/runtime-harness.js";

const run = promisify(execFile);
const hasCurl = spawnSync("curl", ["--version"]).status === 0;
const dir = mkdtempSync(join(tmpdir(), "weft-hash-cookie-"));

describe.skipIf(!hasCurl)("hash_policy cookie with a ttl (curl with a cookie jar)", () => {
  let h: Harness;
  const hosts: http.Server[] = [];

  beforeAll(async () => {
    for (const id of ["a", "b", "c"]) {
      // Each host answers with its name and a cookie of its own, which must survive next to the proxy's.
      const s = http.createServer((_req, res) => {
        res.setHeader("set-cookie", `app=${id}`);
        res.end(id);
      });
      await new Promise<void>((r) => s.listen(0, "127.0.0.1", r));
      hosts.push(s);
    }
    const route = { cluster: "app", hash_policy: [{ cookie: { name: "session", ttl: "3600s", path: "/", attributes: [{ name: "SameSite", value: "Lax" }] } }] };
    h = await startRuntime({
      clusters: [staticCluster("app", hosts.map((s) => (s.address() as AddressInfo).port), { lb_policy: "RING_HASH" })],
      listeners: [httpListener("in", [{ name: "all", domains: ["*"], routes: [{ match: { prefix: "/" }, route }] }])],
    });
  });
  afterAll(async () => {
    await h?.close();
    for (const s of hosts) s.close();
  });

  async function get(jar: string): Promise<{ host: string; cookies: string[] }> {
    const { stdout } = await run("curl", ["-sS", "-D", "-", "-c", jar, "-b", jar, `http://127.0.0.1:${h.port("in")}/`]);
    const cut = stdout.indexOf("\r\n\r\n");
    const cookies = stdout
      .slice(0, cut)
      .split("\r\n")
      .filter((l) => /^set-cookie:/i.test(l))
      .map((l) => l.slice(l.indexOf(":") + 1).trim());
    return { host: stdout.slice(cut + 4), cookies };
  }

  it("sets Envoy's cookie once, keeps the upstream's, and keeps each client on one host", async () => {
    const seen = new Set<string>();
    for (let client = 0; client < 4; client++) {
      const jar = join(dir, `jar-${client}`);
      const first = await get(jar);
      expect(first.cookies).toContain(`app=${first.host}`);
      const mine = first.cookies.filter((c) => c.startsWith("session="));
      expect(mine).toHaveLength(1);
      expect(mine[0]).toMatch(/^session="[0-9a-f]{16}"; Max-Age=3600; Path=\/; SameSite=Lax; HttpOnly$/);
      for (let i = 0; i < 8; i++) {
        const next = await get(jar);
        expect(next.host).toBe(first.host);
        // The cookie came back, so no new one is set.
        expect(next.cookies.some((c) => c.startsWith("session="))).toBe(false);
      }
      seen.add(first.host);
    }
    expect(seen.size).toBeGreaterThanOrEqual(1);
  });
});
