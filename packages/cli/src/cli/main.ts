import { readFileSync } from "node:fs";
import { LocalError } from "../local/errors.js";
import { LOCAL_USAGE, runLocal } from "./local-command.js";
import { PROXY_CONFIG_USAGE, runProxyConfig } from "../proxy-config/command.js";
import { PROXY_STATUS_USAGE, runProxyStatus } from "../proxy-status/command.js";

const USAGE = `Usage: weftctl <command>

  local …         run the mesh on this machine (weftctl local --help)
  proxy-config …  (pc) a proxy's listeners, routes, clusters, endpoints, secrets, bootstrap
  proxy-status    (ps) whether each proxy is in sync with discovery
  version         print the version

`;

function version(): string {
  const pkg = JSON.parse(readFileSync(new URL("../../package.json", import.meta.url), "utf8")) as { version: string };
  return pkg.version;
}

export async function main(argv: string[]): Promise<number> {
  const [command, ...rest] = argv;
  try {
    switch (command) {
      case "local":
        return await runLocal(rest);
      case "proxy-config":
      case "pc":
        return await runProxyConfig(rest);
      case "proxy-status":
      case "ps":
        return await runProxyStatus(rest);
      case "version":
      case "--version":
        process.stdout.write(`weftctl ${version()}\n`);
        return 0;
      case undefined:
      case "help":
      case "--help":
      case "-h":
        process.stdout.write(USAGE + LOCAL_USAGE + "\n" + PROXY_CONFIG_USAGE + "\n" + PROXY_STATUS_USAGE);
        return 0;
      default:
        throw new LocalError(`unknown command: ${command}`, "see `weftctl --help`");
    }
  } catch (error) {
    if (error instanceof LocalError) {
      process.stderr.write(`weftctl: ${error.message}\n${error.hint ? `  → ${error.hint}\n` : ""}`);
      return 1;
    }
    if (error instanceof TypeError && (error as { code?: string }).code?.startsWith("ERR_PARSE_ARGS")) {
      process.stderr.write(`weftctl: ${error.message}\n  → see \`weftctl --help\`\n`);
      return 2;
    }
    throw error;
  }
}
