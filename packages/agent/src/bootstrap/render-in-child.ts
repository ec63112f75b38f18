// Renders the bootstrap in a short-lived child process. Building and validating it
// needs protobuf-es's descriptors for the whole Bootstrap message tree (≈ 44 files
// beyond what the xDS relay and SDS use) and the validator's compiled rules: ≈ 4 MB
// of the agent's V8 heap, measured in the local mesh, kept for the pod's life. A
// worker thread would free the heap but not the RSS (its allocator arena stays with
// the process, measured: no RSS saved at all); a process gives everything back.
import { spawn } from "node:child_process";
import { existsSync } from "node:fs";
import { fileURLToPath } from "node:url";
import type { AgentEnv } from "../env/agent-env.js";
import { AgentError } from "../errors.js";
import type { BootstrapChildReply } from "./bootstrap-child.js";

/**
 * The child's command line: this process's Node flags and `bootstrap-child.mjs` beside the
 * bundle (scripts/bundle-bin.mjs writes both) or `bootstrap-child.js` beside the tsc output, or,
 * when the agent runs from its TypeScript sources (tests), `bootstrap-child.ts` through tsx.
 */
function childArgs(): string[] {
  // .mjs beside the bundle (an ES module wherever the bundle is copied), .js beside the tsc output.
  const js = [new URL("./bootstrap-child.mjs", import.meta.url), new URL("./bootstrap-child.js", import.meta.url)].find((u) => existsSync(fileURLToPath(u)));
  // The agent's V8 flags, but not its inspector: the child would contend for the same port.
  if (js) return [...process.execArgv.filter((a) => !a.startsWith("--inspect")), fileURLToPath(js)];
  const ts = new URL("./bootstrap-child.ts", import.meta.url);
  let tsx: string | undefined;
  try {
    tsx = import.meta.resolve("tsx/esm");
  } catch {
    tsx = undefined;
  }
  if (!existsSync(fileURLToPath(ts)) || !tsx) {
    throw new AgentError("validation_failed", `cannot render the bootstrap: ${fileURLToPath(new URL("./bootstrap-child.mjs", import.meta.url))} (or .js) is missing — rebuild or reinstall @weft/agent`);
  }
  return ["--import", tsx, fileURLToPath(ts)];
}

/** It renders in well under a second; this only keeps a wedged child from stalling the agent's start forever. */
const RENDER_TIMEOUT_MS = 60_000;

/** The bootstrap for `env`, rendered and validated by a child process (see above). */
export function renderBootstrapInChild(env: AgentEnv, timeoutMs = RENDER_TIMEOUT_MS): Promise<string> {
  const args = childArgs();
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, args, { stdio: ["pipe", "pipe", "pipe"] });
    const out: Buffer[] = [];
    const err: Buffer[] = [];
    let timedOut = false;
    const timer = setTimeout(() => {
      timedOut = true;
      child.kill("SIGKILL");
    }, timeoutMs);
    child.stdout.on("data", (c: Buffer) => out.push(c));
    child.stderr.on("data", (c: Buffer) => err.push(c));
    child.on("error", (e) => reject(new AgentError("validation_failed", `cannot start ${process.execPath} to render the bootstrap: ${e.message}`, { cause: e })));
    child.on("close", (code) => {
      clearTimeout(timer);
      if (timedOut) return reject(new AgentError("timeout", `the bootstrap renderer (${args.at(-1)}) did not finish within ${timeoutMs} ms and was killed`));
      let reply: BootstrapChildReply | undefined;
      try {
        reply = JSON.parse(Buffer.concat(out).toString("utf8")) as BootstrapChildReply;
      } catch {
        reply = undefined;
      }
      if (reply && "json" in reply) resolve(reply.json);
      else if (reply) reject(new AgentError(reply.error.code, reply.error.message));
      else {
        const stderr = Buffer.concat(err).toString("utf8").trim();
        reject(new AgentError("validation_failed", `the bootstrap renderer exited with code ${code} and no bootstrap${stderr ? `: ${stderr}` : ""}`));
      }
    });
    child.stdin.end(JSON.stringify(env));
  });
}
