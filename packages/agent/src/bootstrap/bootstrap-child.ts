// Entry of the child process render-in-child.ts starts: reads the agent's environment
// (AgentEnv as JSON) on stdin, renders and validates one bootstrap, writes the reply as
// JSON on stdout and exits. Everything it loads (the Bootstrap schema, its descriptor
// files, the validator's compiled rules) goes back to the system with the process.
import { AgentError } from "../errors.js";
import type { AgentEnv } from "../env/agent-env.js";
import { renderBootstrap } from "./render-bootstrap.js";

export type BootstrapChildReply = { json: string } | { error: { code: AgentError["code"]; message: string } };

function reply(env: AgentEnv): BootstrapChildReply {
  try {
    return { json: renderBootstrap(env) };
  } catch (err) {
    const e = AgentError.from(err);
    return { error: { code: e.code, message: e.message } };
  }
}

const chunks: Buffer[] = [];
process.stdin.on("data", (c: Buffer) => chunks.push(c));
process.stdin.on("end", () => {
  process.stdout.write(JSON.stringify(reply(JSON.parse(Buffer.concat(chunks).toString("utf8")) as AgentEnv)));
});
