import { spawn, type ChildProcess } from "node:child_process";
import { mkdtempSync, readFileSync, writeFileSync, existsSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { freePort } from "./httpbin.js";

export const AGENT_BIN = fileURLToPath(new URL("../bin/weft-agent.ts", import.meta.url));
export const TSX = fileURLToPath(new URL("../../../../node_modules/.bin/tsx", import.meta.url));
export const FAKE_PROXY = fileURLToPath(new URL("./fake-proxy.mjs", import.meta.url));
export const REPO = fileURLToPath(new URL("../../../../", import.meta.url));
/** The real peers; WEFT_TEST_DISCOVERY_BIN / WEFT_TEST_PROXY_BIN point at other builds (e.g. a worktree while the shared dist is mid-rebuild). */
export const DISCOVERY_BIN = process.env.WEFT_TEST_DISCOVERY_BIN || join(REPO, "packages/discovery/dist/bin/weft-discovery.js");
export const PROXY_BIN = process.env.WEFT_TEST_PROXY_BIN || join(REPO, "packages/proxy/dist/bundle/weft-proxy.mjs");

export interface AgentPorts {
  admin: number;
  status: number;
  health: number;
  prometheus: number;
  traffic: number;
}

/** A pod's worth of directories, cert files and free ports for one agent under test. */
export async function preparePod(name: string) {
  const dir = mkdtempSync(join(tmpdir(), `weft-agent-${name}-`));
  for (const [f, c] of [
    ["cert-chain.pem", "CHAIN"],
    ["key.pem", "KEY"],
    ["root-cert.pem", "ROOT"],
  ]) {
    writeFileSync(join(dir, f), c);
  }
  const ports: AgentPorts = { admin: await freePort(), status: await freePort(), health: await freePort(), prometheus: await freePort(), traffic: await freePort() };
  return { dir, ports, log: join(dir, "proxy-events.log") };
}

export function agentEnv(pod: { dir: string; ports: AgentPorts; log: string }, discoveryAddress: string, extra: Record<string, string> = {}): Record<string, string> {
  return {
    PATH: process.env.PATH ?? "",
    HOME: process.env.HOME ?? "/root",
    POD_NAME: "httpbin-798dbb9f74-l7ntg",
    POD_NAMESPACE: "default",
    INSTANCE_IP: "127.0.0.1",
    SERVICE_ACCOUNT: "httpbin",
    PROXY_CONFIG: JSON.stringify({ discoveryAddress, terminationDrainDuration: "2s", tracing: null }),
    WEFT_AGENT_DIR: pod.dir,
    WEFT_POD_INFO_DIR: join(pod.dir, "podinfo"),
    WEFT_BIND_ADDRESS: "127.0.0.1",
    WEFT_ADMIN_PORT: String(pod.ports.admin),
    WEFT_STATUS_PORT: String(pod.ports.status),
    WEFT_HEALTH_PORT: String(pod.ports.health),
    WEFT_PROMETHEUS_PORT: String(pod.ports.prometheus),
    OUTPUT_CERTS: pod.dir,
    FAKE_PROXY_LOG: pod.log,
    FAKE_PROXY_TRAFFIC_PORT: String(pod.ports.traffic),
    WEFT_LOG_LEVEL: process.env.TEST_LOG ?? "warn",
    ...extra,
  };
}

export function spawnAgent(args: string[], env: Record<string, string>): ChildProcess & { output: () => string } {
  // `node --import tsx`, not the tsx CLI: the CLI relays signals and, when the child is slow to
  // confirm one (a loaded CI machine), exits itself with 143 and orphans the agent — which made
  // the SIGTERM tests flaky.
  const child = spawn(process.execPath, ["--import", "tsx", AGENT_BIN, ...args], { env, stdio: ["ignore", "pipe", "pipe"] }) as ChildProcess & { output: () => string };
  let out = "";
  child.stdout!.on("data", (d: Buffer) => (out += d.toString()));
  child.stderr!.on("data", (d: Buffer) => {
    out += d.toString();
    if (process.env.TEST_LOG) process.stderr.write(d);
  });
  child.output = () => out;
  return child;
}

export function proxyEvents(logPath: string): Array<{ t: number; pid: number; event: string; [k: string]: unknown }> {
  if (!existsSync(logPath)) return [];
  return readFileSync(logPath, "utf8")
    .split("\n")
    .filter(Boolean)
    .map((l) => JSON.parse(l));
}

export async function httpStatus(url: string): Promise<number> {
  try {
    const r = await fetch(url, { signal: AbortSignal.timeout(1500) });
    await r.arrayBuffer();
    return r.status;
  } catch {
    return 0;
  }
}

export async function waitFor(cond: () => Promise<boolean> | boolean, what: string, timeoutMs = 15_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await cond())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

/**
 * Stops an agent started by spawnAgent() and waits for it: SIGTERM (tsx relays it, the agent
 * stops its proxy), SIGKILL after `graceMs`. SIGKILL alone would only kill the tsx wrapper and
 * leave the agent and its proxy running.
 */
export async function stopAgent(child: ChildProcess, graceMs = 5000): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  child.kill("SIGTERM");
  const timer = setTimeout(() => child.kill("SIGKILL"), graceMs);
  await exited(child);
  clearTimeout(timer);
}

export function exited(child: ChildProcess): Promise<number | null> {
  if (child.exitCode !== null) return Promise.resolve(child.exitCode);
  return new Promise((r) => child.once("exit", (code) => r(code)));
}
