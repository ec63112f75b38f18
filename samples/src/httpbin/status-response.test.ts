import { describe, expect, it } from "vitest";
import { chooseStatus } from "./status-response.js";

describe("chooseStatus()", () => {
  it("returns a single code", () => {
    expect(chooseStatus("204")).toEqual({ ok: true, code: 204 });
  });

  it("picks uniformly from a comma list", () => {
    expect(chooseStatus("200,500", () => 0.1)).toEqual({ ok: true, code: 200 });
    expect(chooseStatus("200,500", () => 0.9)).toEqual({ ok: true, code: 500 });
  });

  it("honours weights", () => {
    expect(chooseStatus("200:0.9,500:0.1", () => 0.85)).toEqual({ ok: true, code: 200 });
    expect(chooseStatus("200:0.9,500:0.1", () => 0.95)).toEqual({ ok: true, code: 500 });
  });

  it.each(["", "abc", "20", "200:x", "200:0"])("rejects %j", (spec) => {
    expect(chooseStatus(spec)).toEqual({ ok: false, reason: "Invalid status code" });
  });
});
