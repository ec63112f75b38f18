import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { parseCaptureArgs } from "./capture-options.js";
import { buildCaptureRules, renderSave } from "./capture-rules.js";

const GOLDEN_ARGS = ["-p", "15001", "-z", "15006", "-u", "1337", "-m", "REDIRECT", "-i", "*", "-x", "", "-b", "*", "-d", "15090,15021,15020"];

/** The iptables-save block of testdata/istio-iptables-nat.txt. */
function goldenSave(): string[] {
  const text = readFileSync("/work/shared/testdata/istio-iptables-nat.txt", "utf8");
  const lines = text.split("\n");
  return lines.slice(lines.indexOf("*nat"), lines.indexOf("COMMIT") + 1);
}

describe("buildCaptureRules()", () => {
  it("matches istio-iptables's nat table line for line for the injector's flags", () => {
    const out = renderSave(buildCaptureRules(parseCaptureArgs(GOLDEN_ARGS))).trimEnd().split("\n");
    expect(out).toEqual(goldenSave());
  });

  it("includes and excludes outbound CIDRs and ports in Istio's order", () => {
    const r = buildCaptureRules(parseCaptureArgs([...GOLDEN_ARGS.slice(0, 8), "-i", "10.96.0.0/12,10.244.0.0/16", "-x", "10.96.0.1", "-o", "22", "-q", "3306", "-b", "9080,9090"]));
    const nat = r.tables[0].rules;
    expect(nat.filter((l) => l.startsWith("-A ISTIO_OUTPUT"))).toEqual([
      "-A ISTIO_OUTPUT -p tcp -m tcp --dport 22 -j RETURN",
      "-A ISTIO_OUTPUT -s 127.0.0.6/32 -o lo -j RETURN",
      "-A ISTIO_OUTPUT ! -d 127.0.0.1/32 -o lo -m owner --uid-owner 1337 -j ISTIO_IN_REDIRECT",
      "-A ISTIO_OUTPUT -o lo -m owner ! --uid-owner 1337 -j RETURN",
      "-A ISTIO_OUTPUT -m owner --uid-owner 1337 -j RETURN",
      "-A ISTIO_OUTPUT ! -d 127.0.0.1/32 -o lo -m owner --gid-owner 1337 -j ISTIO_IN_REDIRECT",
      "-A ISTIO_OUTPUT -o lo -m owner ! --gid-owner 1337 -j RETURN",
      "-A ISTIO_OUTPUT -m owner --gid-owner 1337 -j RETURN",
      "-A ISTIO_OUTPUT -d 127.0.0.1/32 -j RETURN",
      "-A ISTIO_OUTPUT -d 10.96.0.1/32 -j RETURN",
      "-A ISTIO_OUTPUT -p tcp -m tcp --dport 3306 -j ISTIO_REDIRECT",
      "-A ISTIO_OUTPUT -d 10.96.0.0/12 -j ISTIO_REDIRECT",
      "-A ISTIO_OUTPUT -d 10.244.0.0/16 -j ISTIO_REDIRECT",
    ]);
    expect(nat.filter((l) => l.startsWith("-A ISTIO_INBOUND"))).toEqual([
      "-A ISTIO_INBOUND -p tcp -m tcp --dport 9080 -j ISTIO_IN_REDIRECT",
      "-A ISTIO_INBOUND -p tcp -m tcp --dport 9090 -j ISTIO_IN_REDIRECT",
    ]);
  });

  it("captures no inbound traffic when -b is empty", () => {
    const r = buildCaptureRules(parseCaptureArgs(["-b", ""]));
    expect(r.tables[0].jumps).toEqual(["-A OUTPUT -p tcp -j ISTIO_OUTPUT"]);
  });

  it("diverts inbound through mangle with TPROXY", () => {
    const r = buildCaptureRules(parseCaptureArgs(["-m", "TPROXY", "-d", "15020"]));
    const mangle = r.tables.find((t) => t.table === "mangle")!;
    expect(mangle.jumps).toEqual(["-A PREROUTING -p tcp -j ISTIO_INBOUND"]);
    expect(mangle.rules).toContain("-A ISTIO_TPROXY ! -d 127.0.0.1/32 -p tcp -j TPROXY --on-port 15006 --on-ip 0.0.0.0 --tproxy-mark 0x539/0xffffffff");
    expect(r.tables[0].jumps).toEqual(["-A OUTPUT -p tcp -j ISTIO_OUTPUT"]);
    expect(r.ipCommands[0]).toEqual(["-f", "inet", "rule", "add", "fwmark", "1337", "lookup", "133"]);
  });
});

describe("parseCaptureArgs()", () => {
  it.each([
    [["-p", "abc"], /-p: "abc" is not a port/],
    [["-m", "MAGIC"], /-m: "MAGIC" is not REDIRECT or TPROXY/],
    [["-x", "10.0.0.0/40"], /-x: "10.0.0.0\/40" is not an IPv4 CIDR/],
    [["--frobnicate"], /unknown flag --frobnicate/],
    [["-p"], /-p needs a value/],
  ])("rejects %j", (args, message) => {
    expect(() => parseCaptureArgs(args)).toThrow(message);
  });
  it("defaults the gids to the uids", () => {
    expect(parseCaptureArgs(["-u", "1000"]).proxyGids).toEqual(["1000"]);
  });
});
