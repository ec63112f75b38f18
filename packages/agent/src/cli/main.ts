import { AgentError } from "../errors.js";
import { bootstrapCommand } from "./bootstrap-command.js";
import { iptablesCommand } from "./iptables-command.js";
import { createCliLogger, levelFromFlag } from "./logger.js";
import { proxyCommand } from "./proxy-command.js";
import { waitCommand } from "./wait-command.js";

const USAGE = `weft-agent: Weft's sidecar agent (pilot-agent compatible)

Usage:
  weft-agent proxy sidecar|router [--domain D] [--proxyLogLevel L] [--proxyComponentLogLevel C]
                                  [--log_output_level L] [--concurrency N] [--proxy-binary PATH]
  weft-agent bootstrap sidecar|router [--domain D]
  weft-agent wait [--timeout 60s] [--url http://localhost:15021/healthz/ready] [--periodMillis 500]
  weft-agent iptables -p 15001 -z 15006 -u 1337 -m REDIRECT -i '*' -x "" -b '*' -d 15090,15021,15020
                      [-o PORTS] [-q PORTS] [-g GID] [--dry-run] [--cleanup] [--run-validation]
  weft-agent version

Environment: see the package README (POD_NAME, POD_NAMESPACE, INSTANCE_IP, PROXY_CONFIG, ISTIO_META_*, WEFT_*).
`;

function logLevelArg(argv: string[]): string | undefined {
  for (let i = 0; i < argv.length; i++) {
    if (argv[i].startsWith("--log_output_level=")) return argv[i].slice("--log_output_level=".length);
    if (argv[i] === "--log_output_level") return argv[i + 1];
  }
  return undefined;
}

/** Entry point of the `weft-agent` binary; returns the process exit code. */
export async function main(argv: string[], env: Record<string, string | undefined> = process.env): Promise<number> {
  const [command, ...rest] = argv;
  const stdout = (s: string) => void process.stdout.write(s);
  const log = createCliLogger(levelFromFlag(logLevelArg(rest) ?? env.WEFT_LOG_LEVEL, command === "proxy" ? "info" : "warn"));
  try {
    switch (command) {
      case "proxy":
        return await proxyCommand(rest, env, log);
      case "bootstrap":
        return await bootstrapCommand(rest, env, stdout);
      case "wait":
        return await waitCommand(rest, stdout);
      case "iptables":
      case "istio-iptables":
        return await iptablesCommand(rest.filter((a) => !a.startsWith("--log_output_level")), env, log, { stdout });
      case "version":
        stdout("weft-agent 0.1.0\n");
        return 0;
      case undefined:
      case "help":
      case "--help":
      case "-h":
        stdout(USAGE);
        return command === undefined ? 2 : 0;
      default:
        process.stderr.write(`weft-agent: unknown command "${command}"\n\n${USAGE}`);
        return 2;
    }
  } catch (err) {
    const e = AgentError.from(err);
    process.stderr.write(`weft-agent ${command}: ${e.message}\n`);
    return 1;
  }
}
