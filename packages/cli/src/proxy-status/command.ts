import { parseArgs } from "node:util";
import { LocalError } from "../local/errors.js";
import { readState } from "../local/state.js";
import { formatTable } from "../local/status.js";
import { PROXY_STATUS_HEADER, proxyStatusRows, type SynczRow } from "./sync-status.js";

export const PROXY_STATUS_USAGE = `Usage: weftctl proxy-status [--discovery URL] [-o short|json]
  Every connected proxy and whether its last CDS/LDS/EDS/RDS push is acknowledged
  (SYNCED, STALE, NOT SENT), from discovery's /debug/syncz.
`;

export async function runProxyStatus(argv: string[]): Promise<number> {
  const { values } = parseArgs({ args: argv, strict: true, options: { discovery: { type: "string" }, output: { type: "string", short: "o", default: "short" }, help: { type: "boolean", short: "h" } } });
  if (values.help) {
    process.stdout.write(PROXY_STATUS_USAGE);
    return 0;
  }
  const base = values.discovery ?? (() => {
    const state = readState();
    if (!state) throw new LocalError("no discovery to ask", "start the local mesh (`weftctl local up`) or pass --discovery http://HOST:PORT");
    return `http://${state.discovery.httpAddress}`;
  })();
  const url = new URL("/debug/syncz", base);
  const res = await fetch(url, { signal: AbortSignal.timeout(5000) }).catch((e: Error) => {
    throw new LocalError(`cannot reach discovery at ${url}: ${e.message}`, "is weft-discovery running? check --discovery");
  });
  if (!res.ok) throw new LocalError(`${url}: HTTP ${res.status}`);
  const rows = (await res.json()) as SynczRow[];
  if (values.output === "json") process.stdout.write(JSON.stringify(rows, null, 2) + "\n");
  else process.stdout.write(formatTable(PROXY_STATUS_HEADER, proxyStatusRows(rows, `weft-discovery@${url.host}`)));
  return 0;
}
