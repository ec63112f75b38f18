import { parseDuration } from "../env/duration.js";
import { requestText } from "../http/request-text.js";
import { AgentError } from "../errors.js";
import { parseArgs } from "./args.js";

export interface WaitOptions {
  url: string;
  timeoutMs: number;
  periodMs: number;
  requestTimeoutMs: number;
}

/** Polls a readiness URL until it answers 200 (pilot-agent wait). */
export async function waitForReady(o: WaitOptions, progress: (s: string) => void): Promise<void> {
  const deadline = Date.now() + o.timeoutMs;
  let last = "";
  progress(`Waiting for the proxy to be ready at ${o.url} (timeout: ${Math.round(o.timeoutMs / 1000)} seconds)...\n`);
  for (;;) {
    try {
      const res = await requestText(o.url, { timeoutMs: o.requestTimeoutMs });
      if (res.status === 200) {
        progress("The proxy is ready!\n");
        return;
      }
      last = `HTTP status code ${res.status}`;
    } catch (err) {
      last = (err as Error).message;
    }
    if (Date.now() + o.periodMs > deadline) {
      throw new AgentError("timeout", `timeout waiting for the proxy to become ready at ${o.url}. Last error: ${last}`);
    }
    progress(`Not ready yet: ${last}\n`);
    await new Promise((r) => setTimeout(r, o.periodMs));
  }
}

/** `weft-agent wait [--timeout 60s | --timeoutSeconds 60] [--url U] [--periodMillis 500] [--requestTimeoutMillis 500]`. */
export async function waitCommand(argv: string[], stdout: (s: string) => void): Promise<number> {
  const { flags } = parseArgs(argv, ["timeout", "timeoutSeconds", "url", "periodMillis", "requestTimeoutMillis", "log_output_level"]);
  const num = (name: string, fallback: number) => {
    const v = flags.get(name);
    if (v === undefined) return fallback;
    if (!/^\d+$/.test(v)) throw new AgentError("invalid_argument", `--${name}: "${v}" is not a whole number`);
    return Number(v);
  };
  await waitForReady(
    {
      url: flags.get("url") ?? "http://localhost:15021/healthz/ready",
      // pilot-agent spells it --timeoutSeconds N; --timeout takes a duration ("60s").
      timeoutMs: flags.has("timeoutSeconds") ? num("timeoutSeconds", 60) * 1000 : parseDuration(flags.get("timeout") ?? "60s", "--timeout"),
      periodMs: num("periodMillis", 500),
      requestTimeoutMs: num("requestTimeoutMillis", 500),
    },
    stdout,
  );
  return 0;
}
