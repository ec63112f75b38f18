import { describe, expect, it } from "vitest";
import { compileStartTimeFormat } from "./start-time-format.js";

describe("compileStartTimeFormat()", () => {
  it("answers each start time right when times alternate (the last answer is reused only for the same millisecond)", () => {
    const f = compileStartTimeFormat();
    const a = Date.UTC(2023, 4, 2, 1, 45, 4, 154);
    const b = a + 1;
    expect([f(a), f(a), f(b), f(a), f(b), f(b)]).toEqual([
      "2023-05-02T01:45:04.154Z",
      "2023-05-02T01:45:04.154Z",
      "2023-05-02T01:45:04.155Z",
      "2023-05-02T01:45:04.154Z",
      "2023-05-02T01:45:04.155Z",
      "2023-05-02T01:45:04.155Z",
    ]);
  });

  it("keeps formats compiled separately apart", () => {
    const iso = compileStartTimeFormat();
    const epoch = compileStartTimeFormat("%s.%3f");
    const t = Date.UTC(2023, 4, 2, 1, 45, 4, 154);
    expect([iso(t), epoch(t)]).toEqual(["2023-05-02T01:45:04.154Z", "1682991904.154"]);
  });
});
