// use_original_dst hand-off with real iptables REDIRECT in a network namespace:
// the proxy and its backends run inside the namespace; curl connects to fake
// IPs that iptables redirects to virtualOutbound (15001).
import { execFileSync, spawn, spawnSync, type ChildProcess } from "node:child_process";
import { randomBytes } from "node:crypto";
import { fileURLToPath } from "node:url";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { originalDstUnavailableReason } from "../native/original-dst.js";

function missing(): string | undefined {
  if (process.getuid?.() !== 0) return "not root";
  for (const tool of ["ip", "iptables", "curl", "setpriv"]) if (spawnSync("which", [tool]).status !== 0) return `${tool} not installed`;
  const why = originalDstUnavailableReason();
  if (why) return `SO_ORIGINAL_DST addon unavailable (${why}); run \`npx nx run proxy:build\``;
  return undefined;
}
const skip = missing();
if (skip) console.warn(`skipping the iptables REDIRECT test: ${skip}`);

const ns = `weft-t-${randomBytes(3).toString("hex")}`;
const sh = (...args: string[]) => execFileSync(args[0], args.slice(1), { stdio: "pipe" }).toString();
const inNs = (...args: string[]) => sh("ip", "netns", "exec", ns, ...args);

describe.skipIf(!!skip)("use_original_dst hand-off (iptables REDIRECT in a netns)", () => {
  let child: ChildProcess | undefined;

  beforeAll(async () => {
    sh("ip", "netns", "add", ns);
    inNs("ip", "link", "set", "lo", "up");
    // Make 10.200.0.0/16 local to lo so connects are routable; iptables then rewrites them in OUTPUT.
    inNs("ip", "addr", "add", "10.200.0.254/16", "dev", "lo");
    // Like istio-iptables: the proxy's own traffic (uid 1337) is not captured again.
    inNs("iptables", "-t", "nat", "-A", "OUTPUT", "-p", "tcp", "-d", "10.200.0.0/16", "-m", "owner", "!", "--uid-owner", "1337", "-j", "REDIRECT", "--to-ports", "15001");
    const script = fileURLToPath(new URL("../test-util/netns-proxy-child.ts", import.meta.url));
    child = spawn("ip", ["netns", "exec", ns, "setpriv", "--reuid=1337", "--regid=1337", "--clear-groups", process.execPath, "--import", "tsx", script], {
      stdio: ["ignore", "pipe", "inherit"],
    });
    await new Promise<void>((resolve, reject) => {
      const t = setTimeout(() => reject(new Error("proxy in netns did not start")), 30_000);
      let buf = "";
      child!.stdout!.on("data", (d: Buffer) => {
        buf += d.toString();
        for (const line of buf.split("\n")) {
          if (!line.startsWith("{")) continue;
          const m = JSON.parse(line) as { ready?: boolean; error?: string };
          clearTimeout(t);
          if (m.ready) resolve();
          else reject(new Error(m.error));
        }
      });
      child!.once("exit", (c) => reject(new Error(`child exited ${c}`)));
    });
  }, 40_000);

  afterAll(() => {
    child?.kill("SIGTERM");
    spawnSync("ip", ["netns", "del", ns]);
  });

  it("hands 10.200.0.1:80 to the exact listener 10.200.0.1_80", () => {
    expect(inNs("curl", "-s", "--max-time", "5", "http://10.200.0.1/")).toBe("backend-80 host=10.200.0.1");
  });

  it("hands 10.200.0.7:81 to the wildcard listener 0.0.0.0_81", () => {
    expect(inNs("curl", "-s", "--max-time", "5", "http://10.200.0.7:81/")).toBe("backend-81 host=10.200.0.7:81");
  });

  it("prefers the exact ip:port listener, then 0.0.0.0:port", () => {
    expect(inNs("curl", "-s", "--max-time", "5", "http://10.200.0.2/")).toBe("wildcard-80");
  });

  it("keeps connections with no matching listener on the virtual listener's own chain (PassthroughCluster to the original destination)", () => {
    expect(inNs("curl", "-s", "--max-time", "5", "telnet://10.200.0.9:18082")).toBe("passthrough to 10.200.0.9:18082\n");
  });
});
