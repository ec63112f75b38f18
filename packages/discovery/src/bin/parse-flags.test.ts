import { describe, expect, it } from "vitest";
import { parseFlags, UsageError } from "./parse-flags.js";

describe("parseFlags()", () => {
  it("applies Istio's default ports", () => {
    expect(parseFlags(["--config-dir", "/tmp/x"])).toEqual({
      configDir: "/tmp/x",
      grpcAddr: "127.0.0.1:15010",
      httpAddr: ":8080",
      monitoringAddr: ":15014",
      domain: "cluster.local",
      logLevel: "info",
      caAddr: ":15012",
      trustDomain: "cluster.local",
      debounceAfterMs: 100,
      debounceMaxMs: 1000,
      sidecarUseRemoteAddress: false,
    });
  });

  it("takes istiod's debounce settings as durations", () => {
    expect(parseFlags(["--config-dir", "d", "--debounce-after", "50ms", "--debounce-max", "10s"])).toMatchObject({ debounceAfterMs: 50, debounceMaxMs: 10_000 });
  });

  it("takes the mesh CA flags", () => {
    expect(parseFlags(["--config-dir", "/tmp/x", "--ca-dir", "/tmp/ca", "--ca-addr", "127.0.0.1:0", "--trust-domain", "example.org"])).toMatchObject({ caDir: "/tmp/ca", caAddr: "127.0.0.1:0", trustDomain: "example.org" });
    expect(() => parseFlags(["--config-dir", "/tmp/x", "--ca-addr", "nope"])).toThrow(/--ca-addr "nope"/);
  });

  it("takes PILOT_SIDECAR_USE_REMOTE_ADDRESS as a flag or from the environment, as istiod does", () => {
    expect(parseFlags(["--config-dir", "d", "--sidecar-use-remote-address"])).toMatchObject({ sidecarUseRemoteAddress: true });
    expect(parseFlags(["--config-dir", "d"], { PILOT_SIDECAR_USE_REMOTE_ADDRESS: "true" })).toMatchObject({ sidecarUseRemoteAddress: true });
    expect(parseFlags(["--config-dir", "d"], { PILOT_SIDECAR_USE_REMOTE_ADDRESS: "0" })).toMatchObject({ sidecarUseRemoteAddress: false });
    expect(() => parseFlags(["--config-dir", "d"], { PILOT_SIDECAR_USE_REMOTE_ADDRESS: "yes" })).toThrow(/PILOT_SIDECAR_USE_REMOTE_ADDRESS="yes": expected true or false/);
  });

  it("returns undefined for --help", () => {
    expect(parseFlags(["--help"])).toBeUndefined();
    expect(parseFlags(["-h"])).toBeUndefined();
  });

  it.each([
    [["--config-dir", "d", "--grpcAddr", "x"], /Unknown option '--grpcAddr'/],
    [[], /--config-dir is required/],
    [["--config-dir", "d", "--grpc-addr", "nope"], /--grpc-addr "nope": expected host:port/],
    [["--config-dir", "d", "--http-addr", ":70000"], /port 70000 is out of range/],
    [["--config-dir", "d", "--log-level", "loud"], /--log-level "loud": expected one of/],
    [["--config-dir", "d", "extra"], /Unexpected argument 'extra'/],
    [["--config-dir", "d", "--debounce-after", "100"], /--debounce-after: duration "100" does not parse/],
    [["--config-dir", "d", "--debounce-after=-1s"], /--debounce-after: duration "-1s" is negative/],
    [["--config-dir", "d", "--debounce-after", "2s", "--debounce-max", "1s"], /--debounce-max 1s is shorter than --debounce-after 2s/],
  ])("rejects %j", (argv, message) => {
    expect(() => parseFlags(argv)).toThrow(UsageError);
    expect(() => parseFlags(argv)).toThrow(message);
  });
});
