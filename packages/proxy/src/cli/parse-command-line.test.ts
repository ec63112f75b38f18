import { describe, expect, it } from "vitest";
import { CommandLineError } from "./command-line-options.js";
import { parseCommandLine } from "./parse-command-line.js";

describe("parseCommandLine()", () => {
  it("parses the arguments pilot-agent gives Envoy", () => {
    const o = parseCommandLine([
      "-c", "etc/istio/proxy/envoy-rev0.json",
      "--restart-epoch", "0",
      "--drain-time-s", "45",
      "--drain-strategy", "immediate",
      "--parent-shutdown-time-s", "60",
      "--service-cluster", "productpage.default",
      "--service-node", "sidecar~10.244.1.10~productpage.default~default.svc.cluster.local",
      "--local-address-ip-version", "v4",
      "--file-flush-interval-msec", "1000",
      "--disable-hot-restart",
      "--log-format", "%Y-%m-%dT%T.%fZ\t%l\tenvoy %n\t%v",
      "-l", "warning",
      "--component-log-level", "misc:error,upstream:debug",
      "--concurrency", "2",
    ]);
    expect(o).toMatchObject({
      configPath: "etc/istio/proxy/envoy-rev0.json",
      restartEpoch: 0,
      drainTimeS: 45,
      drainStrategy: "immediate",
      parentShutdownTimeS: 60,
      serviceCluster: "productpage.default",
      localAddressIpVersion: "v4",
      fileFlushIntervalMsec: 1000,
      disableHotRestart: true,
      logLevel: "warning",
      componentLogLevels: { misc: "error", upstream: "debug" },
      concurrency: 2,
      mode: "serve",
      ignoredFlags: [],
    });
  });

  it("accepts --flag=value, --config-yaml alone and --mode validate", () => {
    const o = parseCommandLine(["--config-yaml=admin: {}", "--mode=validate", "--log-level=warn", "--base-id", "3"]);
    expect(o).toMatchObject({ configYaml: "admin: {}", mode: "validate", logLevel: "warning", baseId: 3 });
  });

  it("accepts meaningless Envoy flags and lists them once", () => {
    const o = parseCommandLine(["-c", "x", "--use-dynamic-base-id", "--cpuset-threads", "--socket-path", "/tmp/s", "--enable-mutex-tracing"]);
    expect(o.ignoredFlags).toEqual(["--use-dynamic-base-id", "--cpuset-threads", "--socket-path", "--enable-mutex-tracing"]);
  });

  it.each([
    [["-c"], /-c: missing value/],
    [["-c", "x", "--mode", "run"], /--mode: expected serve, validate or init_only, got 'run'/],
    [["-c", "x", "--concurrency", "two"], /--concurrency: expected an integer/],
    [["-c", "x", "-l", "loud"], /-l: unknown log level 'loud'/],
    [["-c", "x", "--bogus"], /unknown argument '--bogus'/],
    [["--drain-time-s", "5"], /no configuration/],
    [["-c", "x", "--component-log-level", "upstream"], /expected component:level/],
  ])("rejects %j", (argv, message) => {
    expect(() => parseCommandLine(argv)).toThrow(CommandLineError);
    expect(() => parseCommandLine(argv)).toThrow(message);
  });

  it("lets --help and --version through without a config", () => {
    expect(parseCommandLine(["--version"]).printVersion).toBe(true);
    expect(parseCommandLine(["--help"]).printHelp).toBe(true);
  });
});
