import { spawn } from "node:child_process";
import { AgentError } from "../errors.js";

/** Runs a system command (iptables-save, iptables-restore, ip); tests substitute a fake. */
export type CommandRunner = (cmd: string, args: string[], stdin?: string) => Promise<string>;

export const execCommand: CommandRunner = (cmd, args, stdin) =>
  new Promise((resolve, reject) => {
    const child = spawn(cmd, args, { stdio: [stdin === undefined ? "ignore" : "pipe", "pipe", "pipe"] });
    let out = "";
    let err = "";
    child.stdout!.on("data", (d: Buffer) => (out += d.toString()));
    child.stderr!.on("data", (d: Buffer) => (err += d.toString()));
    child.on("error", (e) => reject(new AgentError("iptables_failed", `cannot run ${cmd}: ${e.message}`, { cause: e })));
    child.on("close", (code) => {
      if (code === 0) resolve(out);
      else reject(new AgentError("iptables_failed", `${cmd} ${args.join(" ")} exited with ${code}: ${err.trim() || out.trim()}`));
    });
    if (child.stdin) {
      // A command that fails early closes its stdin; its exit status tells the story, not EPIPE.
      child.stdin.on("error", () => undefined);
      child.stdin.end(stdin);
    }
  });
