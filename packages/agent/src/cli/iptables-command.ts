import type { Logger } from "pino";
import { parseCaptureArgs } from "../iptables/capture-options.js";
import { buildCaptureRules, renderSave } from "../iptables/capture-rules.js";
import { applyCaptureRules, cleanupCaptureRules } from "../iptables/apply-rules.js";
import { execCommand, type CommandRunner } from "../iptables/command-runner.js";
import { validateCapture } from "../iptables/validate-capture.js";

export interface IptablesIo {
  stdout: (text: string) => void;
  run?: CommandRunner;
}

/** `weft-agent iptables …`: istio-iptables's flags; returns the exit code. */
export async function iptablesCommand(argv: string[], env: Record<string, string | undefined>, log: Logger, io: IptablesIo): Promise<number> {
  const o = parseCaptureArgs(argv, env);
  const run = io.run ?? execCommand;
  if (o.runValidation) {
    await validateCapture({ proxyPort: o.proxyPort, probeIp: o.probeIp, probePort: o.probePort, timeoutMs: o.validationTimeoutMs });
    io.stdout(`traffic capture works: a connection to ${o.probeIp}:${o.probePort} landed on port ${o.proxyPort}\n`);
    return 0;
  }
  const tproxy = o.mode === "TPROXY" ? { mark: o.inboundTproxyMark, table: o.inboundTproxyRouteTable } : undefined;
  if (o.cleanup) {
    if (o.dryRun) {
      io.stdout("# --cleanup --dry-run: would remove the jumps to ISTIO_* chains and the chains themselves\n");
      return 0;
    }
    await cleanupCaptureRules(run, log, tproxy);
    log.info("capture rules removed");
    return 0;
  }
  const rules = buildCaptureRules(o);
  if (o.dryRun) {
    io.stdout(renderSave(rules));
    return 0;
  }
  await applyCaptureRules(rules, run, log);
  log.info({ rules: renderSave(rules) }, "capture rules applied");
  return 0;
}
