import { execFileSync, spawn, type ChildProcess } from "node:child_process";
import { randomBytes } from "node:crypto";
import { fileURLToPath } from "node:url";
import { afterAll, beforeAll, describe, expect, it } from "vitest";

/**
 * Real capture in a network namespace: the pod namespace gets the rules, a peer namespace
 * plays "another host" and an inbound client, joined by a veth pair.
 */
const UTIL = fileURLToPath(new URL("../test-util/", import.meta.url));
const AGENT = fileURLToPath(new URL("../bin/weft-agent.ts", import.meta.url));
const TSX = fileURLToPath(new URL("../../../../node_modules/.bin/tsx", import.meta.url));
const NODE = process.execPath;

function missing(): string | undefined {
  if (process.getuid?.() !== 0) return "not root: network namespaces and iptables need root";
  for (const tool of ["ip", "iptables-save", "iptables-restore", "setpriv"]) {
    try {
      execFileSync("sh", ["-c", `command -v ${tool}`]);
    } catch {
      return `${tool} is not installed`;
    }
  }
  return undefined;
}

const skip = missing();
if (skip) console.warn(`capture-netns.test.ts skipped: ${skip}`);

const id = randomBytes(3).toString("hex");
const POD = `weft-agent-${id}`;
const PEER = `weft-agent-${id}-peer`;
const octet = 100 + (parseInt(id.slice(0, 2), 16) % 100);
const POD_IP = `10.251.${octet}.1`;
const PEER_IP = `10.251.${octet}.2`;
const CAPTURE_ARGS = ["-p", "15001", "-z", "15006", "-u", "1337", "-m", "REDIRECT", "-i", "*", "-x", "", "-b", "*", "-d", "15090,15021,15020"];

const sh = (ns: string, args: string[], opts: { input?: string } = {}) => execFileSync("ip", ["netns", "exec", ns, ...args], { encoding: "utf8", ...opts });
const agent = (args: string[]) => sh(POD, [TSX, AGENT, "iptables", ...args]);
const probe = (ns: string, host: string, port: number, asUid?: number) => {
  const cmd = [NODE, `${UTIL}probe-client.mjs`, host, String(port)];
  try {
    return sh(ns, asUid === undefined ? cmd : ["setpriv", `--reuid=${asUid}`, `--regid=${asUid}`, "--clear-groups", ...cmd]);
  } catch (err) {
    return String((err as { stdout?: string }).stdout ?? err);
  }
};
const natSave = () =>
  sh(POD, ["iptables-save", "-t", "nat"])
    .split("\n")
    .filter((l) => !l.startsWith("#"))
    .map((l) => l.replace(/\[\d+:\d+\]/, "[0:0]"))
    .join("\n");

const servers: ChildProcess[] = [];
function startServer(ns: string, name: string, ports: number[]): Promise<void> {
  const child = spawn("ip", ["netns", "exec", ns, NODE, `${UTIL}landing-server.mjs`, name, ...ports.map(String)], { stdio: ["ignore", "pipe", "inherit"] });
  servers.push(child);
  return new Promise((resolve, reject) => {
    child.stdout!.on("data", (d: Buffer) => d.toString().includes("ready") && resolve());
    child.on("exit", (code) => reject(new Error(`landing server in ${ns} exited with ${code}`)));
  });
}

describe.skipIf(skip !== undefined)("weft-agent iptables in a network namespace", { timeout: 120_000 }, () => {
  beforeAll(async () => {
    execFileSync("ip", ["netns", "add", POD]);
    execFileSync("ip", ["netns", "add", PEER]);
    execFileSync("ip", ["link", "add", `wa${id}`, "type", "veth", "peer", "name", `wb${id}`]);
    execFileSync("ip", ["link", "set", `wa${id}`, "netns", POD]);
    execFileSync("ip", ["link", "set", `wb${id}`, "netns", PEER]);
    for (const [ns, dev, ip] of [
      [POD, `wa${id}`, POD_IP],
      [PEER, `wb${id}`, PEER_IP],
    ]) {
      sh(ns, ["ip", "addr", "add", `${ip}/24`, "dev", dev]);
      sh(ns, ["ip", "link", "set", dev, "up"]);
      sh(ns, ["ip", "link", "set", "lo", "up"]);
    }
    // A default route, so that destinations beyond the peer (the validation probe) are routable.
    sh(POD, ["ip", "route", "add", "default", "via", PEER_IP]);
    await startServer(POD, "pod", [15001, 15006, 9080]);
    await startServer(PEER, "peer", [8080]);
  }, 30_000);

  afterAll(() => {
    for (const s of servers) s.kill("SIGKILL");
    for (const ns of [POD, PEER]) {
      try {
        execFileSync("ip", ["netns", "del", ns]);
      } catch {
        /* already gone */
      }
    }
  });

  it("reaches the peer directly before capture is installed", () => {
    expect(probe(POD, PEER_IP, 8080)).toBe("peer:8080");
    expect(probe(PEER, POD_IP, 9080)).toBe("pod:9080");
  });

  it("fails validation with a clear message while capture is missing", () => {
    let message = "";
    try {
      sh(POD, [TSX, AGENT, "iptables", "--run-validation", "--probe-ip", "192.0.2.1", "--validation-timeout-ms", "1500", "-p", "15011"]);
    } catch (err) {
      message = String((err as { stderr?: string }).stderr);
    }
    expect(message).toMatch(/traffic capture is not working: a connection to 192\.0\.2\.1:15002 did not land on the outbound capture port 15011/);
  });

  it("installs the golden rules and is idempotent", () => {
    agent(CAPTURE_ARGS);
    const first = natSave();
    const ours = first.split("\n").filter((l) => l.includes("ISTIO"));
    const golden = agent([...CAPTURE_ARGS, "--dry-run"])
      .split("\n")
      .filter((l) => l.includes("ISTIO"));
    expect(ours).toEqual(golden);
    agent(CAPTURE_ARGS);
    expect(natSave()).toBe(first);
  });

  it("sends an app's connection to another host to 15001", () => {
    expect(probe(POD, PEER_IP, 8080)).toBe("pod:15001");
  });

  it("lets the proxy's uid 1337 go out directly", () => {
    expect(probe(POD, PEER_IP, 8080, 1337)).toBe("peer:8080");
  });

  it("sends an inbound connection from the peer to 15006, but not the excluded 15020", () => {
    expect(probe(PEER, POD_IP, 9080)).toBe("pod:15006");
  });

  it("passes validation once capture works (redirecting to a free port, as before the proxy starts)", () => {
    agent(["-p", "15011", ...CAPTURE_ARGS.slice(2)]);
    const out = sh(POD, [TSX, AGENT, "iptables", "--run-validation", "-p", "15011", "--probe-ip", "192.0.2.1", "--validation-timeout-ms", "3000"]);
    expect(out).toMatch(/traffic capture works/);
  });

  it("removes everything with --cleanup", () => {
    agent(["--cleanup"]);
    expect(natSave()).not.toMatch(/ISTIO/);
    expect(probe(POD, PEER_IP, 8080)).toBe("peer:8080");
  });
});
