import { mkdirSync, writeFileSync, renameSync } from "node:fs";
import { dirname } from "node:path";
import { renderBootstrapInChild } from "../bootstrap/render-in-child.js";
import { loadAgentEnv, type AgentEnv, type ProxyType } from "../env/agent-env.js";
import { AgentError } from "../errors.js";
import { parseArgs } from "./args.js";

export function proxyTypeArg(v: string | undefined): ProxyType {
  if (v === "sidecar" || v === "router") return v;
  throw new AgentError("invalid_argument", `expected "sidecar" or "router" as the proxy type, got ${v === undefined ? "nothing" : `"${v}"`}`);
}

/** Writes envoy-rev.json atomically (the proxy may be reading the old one). */
export async function writeBootstrap(env: AgentEnv): Promise<string> {
  const json = await renderBootstrapInChild(env);
  mkdirSync(dirname(env.bootstrapPath), { recursive: true });
  const tmp = `${env.bootstrapPath}.tmp-${process.pid}`;
  writeFileSync(tmp, json);
  renameSync(tmp, env.bootstrapPath);
  return json;
}

/** `weft-agent bootstrap sidecar|router [--domain D]`: prints the bootstrap and exits. */
export async function bootstrapCommand(argv: string[], envVars: Record<string, string | undefined>, stdout: (s: string) => void): Promise<number> {
  const { positional, flags } = parseArgs(argv, ["domain", "log_output_level"]);
  const env = loadAgentEnv(envVars, { proxyType: proxyTypeArg(positional[0]), domain: flags.get("domain") });
  stdout(await renderBootstrapInChild(env));
  return 0;
}
