import type { Logger } from "pino";
import { startAgent } from "../agent/agent.js";
import { createAgentCredentials } from "../ca-client/agent-credentials.js";
import { loadAgentEnv } from "../env/agent-env.js";
import { AgentError } from "../errors.js";
import { resolveProxyBinary } from "../supervisor/resolve-proxy-binary.js";
import { startupPagesReleaseWanted } from "../supervisor/startup-pages.js";
import { parseArgs } from "./args.js";
import { proxyTypeArg } from "./bootstrap-command.js";

const FORWARDED: NodeJS.Signals[] = ["SIGHUP", "SIGUSR1", "SIGUSR2"];

/** `weft-agent proxy sidecar|router …`: runs until SIGTERM/SIGINT or /quitquitquit; returns the exit code. */
export async function proxyCommand(argv: string[], envVars: Record<string, string | undefined>, log: Logger): Promise<number> {
  const { positional, flags } = parseArgs(argv, ["domain", "proxyLogLevel", "proxyComponentLogLevel", "log_output_level", "concurrency", "proxy-binary", "serviceCluster", "templateFile", "stsPort", "outlierLogPath"]);
  const concurrencyFlag = flags.get("concurrency");
  if (concurrencyFlag !== undefined && !/^\d+$/.test(concurrencyFlag)) throw new AgentError("invalid_argument", `--concurrency: "${concurrencyFlag}" is not a number`);
  const env = loadAgentEnv(envVars, {
    proxyType: proxyTypeArg(positional[0]),
    domain: flags.get("domain"),
    concurrencyFlag: concurrencyFlag !== undefined ? Number(concurrencyFlag) : undefined,
  });
  if (env.concurrency.warning) log.warn({ concurrency: env.concurrency.workers }, env.concurrency.warning);
  const proxy = resolveProxyBinary(flags.get("proxy-binary"), envVars);
  const creds = await createAgentCredentials(env, envVars, log);
  log.info({ node: env.podName, proxy: proxy.description, discovery: env.proxyConfig.discoveryAddress, dir: env.agentDir, concurrency: env.concurrency, ...creds.describe() }, "starting sidecar agent");

  const agent = await startAgent({
    env,
    proxy,
    log,
    certificateProvider: creds.certificateProvider,
    dialer: creds.dialer,
    certificateNotReady: creds.certificateNotReady,
    proxyLogLevel: flags.get("proxyLogLevel"),
    proxyComponentLogLevel: flags.get("proxyComponentLogLevel"),
    releaseStartupPages: startupPagesReleaseWanted(envVars),
  });
  const onTerm = (sig: NodeJS.Signals) => {
    log.info({ signal: sig }, "received signal; draining");
    void agent.drainAndStop();
  };
  process.on("SIGTERM", onTerm);
  process.on("SIGINT", onTerm);
  const forward = (sig: NodeJS.Signals) => agent.signalProxy(sig);
  for (const s of FORWARDED) process.on(s, forward);
  try {
    return await agent.done;
  } finally {
    process.off("SIGTERM", onTerm);
    process.off("SIGINT", onTerm);
    for (const s of FORWARDED) process.off(s, forward);
  }
}
