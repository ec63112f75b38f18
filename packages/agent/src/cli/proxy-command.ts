import type { Logger } from "pino";
export async function proxyCommand(_argv: string[], _env: Record<string, string | undefined>, _log: Logger): Promise<number> {
  throw new Error("not yet");
}
