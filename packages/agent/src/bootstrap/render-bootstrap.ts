import type { AgentEnv } from "../env/agent-env.js";
import { bootstrapToJson, buildBootstrap } from "./bootstrap.js";
import { validateBootstrap } from "./validate-bootstrap.js";

/** The bootstrap for this environment, validated, as the Envoy JSON `-c envoy-rev.json` reads. */
export function renderBootstrap(env: AgentEnv): string {
  const bootstrap = buildBootstrap(env);
  validateBootstrap(bootstrap);
  return bootstrapToJson(bootstrap);
}
