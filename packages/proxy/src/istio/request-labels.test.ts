import { describe, expect, it } from "vitest";
import { istioReporter } from "./request-labels.js";

describe("istioReporter()", () => {
  it.each([
    [undefined, "INBOUND", "destination"],
    [undefined, "OUTBOUND", "source"],
    [undefined, "UNSPECIFIED", "source"],
    ["UNSPECIFIED", "INBOUND", "destination"],
    ["SERVER_GATEWAY", "INBOUND", "waypoint"],
    [1, "OUTBOUND", "waypoint"],
  ])("reporter %s on a %s listener is %s", (reporter, direction, want) => {
    expect(istioReporter(reporter, direction)).toBe(want);
  });
});
