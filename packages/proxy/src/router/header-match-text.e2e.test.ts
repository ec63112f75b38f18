// A VirtualService or AuthorizationPolicy that matches a header on non-ASCII
// text must match what a client sends as UTF-8, as Envoy compares the bytes.
// The proxy's header maps hold wire bytes one per character ("Zoë" arrives as
// "ZoÃ«"), so route and RBAC header matchers compare the value's text
// (http/wire-string.ts). Driven by curl over HTTP/1.1 and HTTP/2.
import { execFile, spawnSync } from "node:child_process";
import { promisify } from "node:util";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { httpListener, startRuntime, type Harness } from "../test-util/runtime-harness.js";

const run = promisify(execFile);
const hasCurl = spawnSync("curl", ["--version"]).status === 0;

const reply = (body: string) => ({ direct_response: { status: 200, body: { inline_string: body } } });
const byName = (name: string, match: Record<string, unknown>, body: string) => ({ match: { prefix: "/", headers: [{ name, ...match }] }, ...reply(body) });

describe.skipIf(!hasCurl)("header matchers on non-ASCII text (curl)", () => {
  let h: Harness;

  beforeAll(async () => {
    h = await startRuntime({
      clusters: [],
      listeners: [
        httpListener(
          "in",
          [
            {
              name: "all",
              domains: ["*"],
              routes: [
                byName("x-name", { string_match: { exact: "Zoë" } }, "exact"),
                byName("x-name", { safe_regex_match: { regex: "Zo[eë]y ☕+" } }, "regex"),
                byName("x-name", { string_match: { prefix: "Ré", ignore_case: true } }, "prefix-ci"),
                byName("x-name", { suffix_match: "ña" }, "suffix"),
                { match: { prefix: "/" }, ...reply("other") },
              ],
            },
          ],
          {
            http_filters: [
              {
                name: "envoy.filters.http.rbac",
                typed_config: {
                  "@type": "type.googleapis.com/envoy.extensions.filters.http.rbac.v3.RBAC",
                  rules: {
                    action: "DENY",
                    policies: { "ns[default]-policy[deny-mallory]-rule[0]": { permissions: [{ header: { name: "x-name", string_match: { exact: "Mallory-ü" } } }], principals: [{ any: true }] } },
                  },
                },
              },
              { name: "envoy.filters.http.router", typed_config: { "@type": "type.googleapis.com/envoy.extensions.filters.http.router.v3.Router" } },
            ],
          },
        ),
      ],
    });
  });
  afterAll(async () => h?.close());

  async function get(proto: string, name: string): Promise<{ status: number; body: string }> {
    const { stdout } = await run("curl", ["-sS", proto, "-H", `x-name: ${name}`, "-w", "\n%{http_code}", `http://127.0.0.1:${h.port("in")}/`]);
    const cut = stdout.lastIndexOf("\n");
    return { body: stdout.slice(0, cut), status: Number(stdout.slice(cut + 1)) };
  }

  it.each(["--http1.1", "--http2-prior-knowledge"])("routes and authorizes on the text the client sent (%s)", async (proto) => {
    expect(await get(proto, "Zoë")).toEqual({ status: 200, body: "exact" });
    expect(await get(proto, "Zoëy ☕☕")).toEqual({ status: 200, body: "regex" });
    expect(await get(proto, "rémi")).toEqual({ status: 200, body: "prefix-ci" });
    // ignore_case folds ASCII letters only, as Envoy does: É is not é.
    expect(await get(proto, "RéMI")).toEqual({ status: 200, body: "prefix-ci" });
    expect(await get(proto, "RÉMI")).toEqual({ status: 200, body: "other" });
    expect(await get(proto, "Begoña")).toEqual({ status: 200, body: "suffix" });
    // Near misses stay misses: a different letter, ASCII look-alikes.
    expect(await get(proto, "Zoe")).toEqual({ status: 200, body: "other" });
    expect(await get(proto, "Zoèy ☕")).toEqual({ status: 200, body: "other" });
    expect((await get(proto, "Mallory-ü")).status).toBe(403);
    expect(await get(proto, "Mallory-u")).toEqual({ status: 200, body: "other" });
  });
});
