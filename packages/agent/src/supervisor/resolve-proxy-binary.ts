import { accessSync, constants, existsSync, readFileSync, realpathSync } from "node:fs";
import { basename, delimiter, dirname, isAbsolute, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { AgentError } from "../errors.js";
import { proxyNodeFlags } from "./proxy-node-flags.js";

/** How to start the proxy: a native executable, or a Node script run with this Node. */
export interface ProxyCommand {
  command: string;
  prefixArgs: string[];
  description: string;
  /** The proxy's file: its JS entry point or its executable. */
  file: string;
}

function executable(path: string): boolean {
  try {
    accessSync(path, constants.X_OK);
    return true;
  } catch {
    return false;
  }
}

function onPath(name: string, pathEnv: string | undefined): string | undefined {
  for (const dir of (pathEnv ?? "").split(delimiter).filter(Boolean)) {
    const p = join(dir, name);
    if (existsSync(p) && executable(p)) return p;
  }
  return undefined;
}

/** Finds @weft/proxy's bin through node_modules above `from` (its package.json `bin`), without importing it. */
function findWeftProxyPackageBin(from: string): string | undefined {
  let dir = from;
  for (;;) {
    const pkg = join(dir, "node_modules", "@weft", "proxy", "package.json");
    if (existsSync(pkg)) {
      const json = JSON.parse(readFileSync(pkg, "utf8")) as { bin?: string | Record<string, string> };
      const bin = typeof json.bin === "string" ? json.bin : json.bin?.["weft-proxy"];
      if (bin) {
        const p = resolve(dirname(pkg), bin);
        if (existsSync(p)) return p;
      }
    }
    const bin = join(dir, "node_modules", ".bin", "weft-proxy");
    if (existsSync(bin)) return bin;
    const parent = dirname(dir);
    if (parent === dir) return undefined;
    dir = parent;
  }
}

function asCommand(path: string, env: Record<string, string | undefined>): ProxyCommand {
  // A JS entry point (or an npm .bin shim to one) runs under this Node, so no shebang or PATH node is needed,
  // with the Node flags weft-proxy declares (startup-only V8 settings such as the young generation's size).
  if (/\.(m?js|cjs)$/.test(path) || isWeftProxyShim(path)) {
    return { command: process.execPath, prefixArgs: [...proxyNodeFlags(path, env), path], description: path, file: path };
  }
  return { command: path, prefixArgs: [], description: path, file: path };
}

/** node_modules/.bin/weft-proxy: npm's symlink to @weft/proxy's JS entry point (no extension of its own). */
function isWeftProxyShim(path: string): boolean {
  try {
    return basename(path) === "weft-proxy" && /\.(m?js|cjs)$/.test(realpathSync(path));
  } catch {
    return false;
  }
}

/**
 * Resolves `--proxy-binary`: absent or `weft-proxy` → Weft's proxy (installed @weft/proxy,
 * node_modules/.bin, then PATH); `envoy` → Envoy on PATH; anything else is a path.
 */
export function resolveProxyBinary(requested: string | undefined, env: Record<string, string | undefined> = process.env): ProxyCommand {
  const name = requested ?? env.WEFT_PROXY_BINARY ?? "weft-proxy";
  if (name === "weft-proxy") {
    const here = dirname(fileURLToPath(import.meta.url));
    const found = findWeftProxyPackageBin(here) ?? findWeftProxyPackageBin(process.cwd()) ?? onPath("weft-proxy", env.PATH);
    if (!found) {
      throw new AgentError(
        "proxy_binary_not_found",
        "weft-proxy not found: install @weft/proxy next to @weft/agent, put weft-proxy on PATH, or pass --proxy-binary envoy|<path>",
      );
    }
    return asCommand(found, env);
  }
  if (!name.includes("/")) {
    const found = onPath(name, env.PATH);
    if (!found) throw new AgentError("proxy_binary_not_found", `--proxy-binary ${name}: not found on PATH`);
    return asCommand(found, env);
  }
  const p = isAbsolute(name) ? name : resolve(name);
  if (!existsSync(p)) throw new AgentError("proxy_binary_not_found", `--proxy-binary ${name}: no such file`);
  return asCommand(p, env);
}
