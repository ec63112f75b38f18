import { describe, expect, it } from "vitest";
import { createPatternDestination } from "./log-format.js";
import { createLoggingControl } from "./logging-control.js";

function capture() {
  const lines: string[] = [];
  return { lines, dest: { write: (s: string) => void lines.push(s) } };
}

describe("createLoggingControl()", () => {
  it("applies component levels, also to children the data path makes itself", () => {
    const { lines, dest } = capture();
    const logging = createLoggingControl({ level: "warning", componentLevels: { upstream: "debug" }, destination: dest });
    const upstream = logging.root.child({ component: "upstream" });
    const http = logging.root.child({ component: "http" });
    upstream.debug("u1");
    http.debug("h1");
    expect(lines.map((l) => JSON.parse(l).msg)).toEqual(["u1"]);

    logging.setAll("debug");
    http.debug("h2");
    expect(logging.set("http", "error")).toBe(true);
    http.warn("h3");
    expect(logging.set("no-such-component", "debug")).toBe(false);
    expect(lines.map((l) => JSON.parse(l).msg)).toEqual(["u1", "h2"]);
    expect(logging.list()).toContainEqual({ component: "http", level: "error" });
  });
});

describe("createPatternDestination()", () => {
  it("renders Istio's --log-format pattern", () => {
    const { lines, dest } = capture();
    const d = createPatternDestination("%Y-%m-%dT%T.%eZ\t%l\tenvoy %n\t%v", dest);
    d.write(JSON.stringify({ level: 40, time: "2026-01-02T03:04:05.678Z", component: "upstream", msg: "hello", cluster: "c1" }) + "\n");
    expect(lines).toEqual(["2026-01-02T03:04:05.678Z\twarning\tenvoy upstream\thello cluster=c1\n"]);
  });
});
