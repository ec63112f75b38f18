import { describe, expect, it } from "vitest";
import { readListenConfig, readMillis } from "./listen-config.js";

describe("readListenConfig()", () => {
  it("defaults to the container port on every interface", () => {
    expect(readListenConfig({ env: {}, defaultPort: 9080 })).toEqual({ host: "0.0.0.0", port: 9080 });
  });

  it("takes PORT and BIND_ADDRESS from the environment", () => {
    expect(readListenConfig({ env: { PORT: "19080", BIND_ADDRESS: "127.0.1.4" }, defaultPort: 9080 })).toEqual({ host: "127.0.1.4", port: 19080 });
  });

  it("prefers the flags over the environment", () => {
    expect(readListenConfig({ env: { PORT: "1" }, portArg: "2", bindArg: "::1", defaultPort: 80 })).toEqual({ host: "::1", port: 2 });
  });

  it("names the variable at fault", () => {
    expect(() => readListenConfig({ env: { PORT: "http" }, defaultPort: 80 })).toThrow('PORT must be a port number (0-65535), got "http"');
    expect(() => readListenConfig({ env: {}, portArg: "70000", defaultPort: 80 })).toThrow("--port must be a port number (0-65535), got 70000");
  });
});

describe("readMillis()", () => {
  it("reads a positive number or falls back", () => {
    expect(readMillis({ X: "250" }, "X", 3000)).toBe(250);
    expect(readMillis({}, "X", 3000)).toBe(3000);
  });

  it("rejects zero and garbage", () => {
    expect(() => readMillis({ X: "0" }, "X", 1)).toThrow('X must be a positive number of milliseconds, got "0"');
    expect(() => readMillis({ X: "3s" }, "X", 1)).toThrow(/X must be/);
  });
});
