import { AgentError } from "../errors.js";

export interface ParsedArgs {
  positional: string[];
  flags: Map<string, string>;
}

/**
 * Parses pilot-agent-style flags: `--flag value`, `--flag=value`, `-f value`; flags in
 * `booleans` take no value. Unknown flags are errors that name the flag.
 */
export function parseArgs(argv: string[], valued: readonly string[], booleans: readonly string[] = []): ParsedArgs {
  const positional: string[] = [];
  const flags = new Map<string, string>();
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i];
    if (!arg.startsWith("-") || arg === "-") {
      positional.push(arg);
      continue;
    }
    const eq = arg.indexOf("=");
    const name = (eq > 0 ? arg.slice(0, eq) : arg).replace(/^--?/, "");
    if (booleans.includes(name)) {
      flags.set(name, eq > 0 ? arg.slice(eq + 1) : "true");
      continue;
    }
    if (!valued.includes(name)) throw new AgentError("invalid_argument", `unknown flag ${arg.slice(0, eq > 0 ? eq : undefined)}`);
    if (eq > 0) flags.set(name, arg.slice(eq + 1));
    else {
      if (i + 1 >= argv.length) throw new AgentError("invalid_argument", `flag --${name} needs a value`);
      flags.set(name, argv[++i]);
    }
  }
  return { positional, flags };
}
