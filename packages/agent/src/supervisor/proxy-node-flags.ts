// The Node/V8 flags a JS proxy entry point is started with. weft-proxy
// declares them in its package.json (`weft.nodeFlags`; @weft/proxy's
// PROXY_NODE_FLAGS is the same list) and they can only be given at startup —
// V8 sizes its young generation when the process starts — so the agent, which
// may not import @weft/proxy (module boundaries), reads them from the package
// of the entry point it is about to run. Flags thus follow the installed proxy.
import { existsSync, readFileSync, realpathSync } from "node:fs";
import { dirname, join } from "node:path";
import { AgentError } from "../errors.js";

/** One Node option: `--name` or `--name=value`, nothing a shell would have to quote. */
const FLAG = /^--[a-z0-9][a-z0-9-]*(=[A-Za-z0-9._:/-]+)?$/;

/** The package.json nearest above `file` (following symlinks, e.g. an npm .bin shim). */
export function owningPackageJson(file: string): string | undefined {
  let dir: string;
  try {
    dir = dirname(realpathSync(file));
  } catch {
    return undefined;
  }
  for (;;) {
    const pkg = join(dir, "package.json");
    if (existsSync(pkg)) return pkg;
    const parent = dirname(dir);
    if (parent === dir) return undefined;
    dir = parent;
  }
}

function checked(flags: unknown, where: string, code: "invalid_env" | "invalid_proxy_config"): string[] {
  if (!Array.isArray(flags)) throw new AgentError(code, `${where}: must be a list of "--flag[=value]" Node options`);
  return flags.map((f, i) => {
    if (typeof f !== "string" || !FLAG.test(f)) {
      throw new AgentError(code, `${where}[${i}] ${JSON.stringify(f)} is not a "--flag[=value]" Node option`);
    }
    return f;
  });
}

/**
 * Node flags for the JS entry point `entry`: `WEFT_PROXY_NODE_FLAGS` when set
 * (space-separated; empty for none — an operator's override), else the
 * `weft.nodeFlags` of @weft/proxy's package.json when `entry` belongs to it,
 * else none (any other script is run as given).
 */
export function proxyNodeFlags(entry: string, env: Record<string, string | undefined> = process.env): string[] {
  const override = env.WEFT_PROXY_NODE_FLAGS;
  if (override !== undefined) return checked(override.split(/\s+/).filter(Boolean), "WEFT_PROXY_NODE_FLAGS", "invalid_env");
  const pkgPath = owningPackageJson(entry);
  if (!pkgPath) return [];
  let pkg: { name?: unknown; weft?: { nodeFlags?: unknown } };
  try {
    pkg = JSON.parse(readFileSync(pkgPath, "utf8")) as typeof pkg;
  } catch (err) {
    throw new AgentError("invalid_proxy_config", `${pkgPath}: ${(err as Error).message}`);
  }
  if (pkg.name !== "@weft/proxy" || pkg.weft?.nodeFlags === undefined) return [];
  return checked(pkg.weft.nodeFlags, `${pkgPath}: weft.nodeFlags`, "invalid_proxy_config");
}
