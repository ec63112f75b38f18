import type { Logger } from "pino";
import type { CommandRunner } from "./command-runner.js";
import type { CaptureRules, Table } from "./capture-rules.js";

/** Every chain capture may create, per table: cleanup removes these whatever the flags were. */
const OWN_CHAINS: Record<Table, string[]> = {
  nat: ["ISTIO_INBOUND", "ISTIO_IN_REDIRECT", "ISTIO_OUTPUT", "ISTIO_REDIRECT"],
  mangle: ["ISTIO_DIVERT", "ISTIO_INBOUND", "ISTIO_TPROXY"],
};

interface TableState {
  chains: Set<string>;
  rules: Set<string>;
}

function parseSave(text: string): TableState {
  const chains = new Set<string>();
  const rules = new Set<string>();
  for (const line of text.split("\n")) {
    if (line.startsWith(":")) chains.add(line.slice(1).split(" ")[0]);
    else if (line.startsWith("-A ")) rules.add(line.trim());
  }
  return { chains, rules };
}

async function readTable(run: CommandRunner, table: Table): Promise<TableState> {
  return parseSave(await run("iptables-save", ["-t", table]));
}

/**
 * Installs the capture atomically: one `iptables-restore --noflush` per table that creates
 * (or flushes) the ISTIO_* chains, fills them, and adds the jumps from PREROUTING/OUTPUT
 * only when they are not there yet, so running it twice leaves the table unchanged.
 */
export async function applyCaptureRules(rules: CaptureRules, run: CommandRunner, log: Logger): Promise<void> {
  for (const t of rules.tables) {
    const state = await readTable(run, t.table);
    const missingJumps = t.jumps.filter((j) => !state.rules.has(j));
    const input = [`*${t.table}`, ...t.chains.map((c) => `:${c} - [0:0]`), ...missingJumps, ...t.rules, "COMMIT", ""].join("\n");
    log.debug({ table: t.table, input }, "iptables-restore");
    await run("iptables-restore", ["--noflush"], input);
  }
  for (const cmd of rules.ipCommands) {
    try {
      await run("ip", cmd);
    } catch (err) {
      // Re-adding an existing rule/route fails with "File exists": the state is already right.
      if (!/File exists/.test((err as Error).message)) throw err;
    }
  }
}

/** Removes the jumps into ISTIO_* chains and the chains themselves (istio-iptables --cleanup). */
export async function cleanupCaptureRules(run: CommandRunner, log: Logger, tproxy?: { mark: string; table: string }): Promise<void> {
  for (const table of ["nat", "mangle"] as Table[]) {
    const state = await readTable(run, table);
    const own = OWN_CHAINS[table].filter((c) => state.chains.has(c));
    if (own.length === 0) continue;
    const jumps = [...state.rules].filter((r) => {
      const [, chain] = r.split(" ");
      const target = /-j (\S+)/.exec(r)?.[1];
      return !OWN_CHAINS[table].includes(chain) && target !== undefined && own.includes(target);
    });
    const input = [`*${table}`, ...jumps.map((j) => `-D${j.slice(2)}`), ...own.map((c) => `-F ${c}`), ...own.map((c) => `-X ${c}`), "COMMIT", ""].join("\n");
    log.debug({ table, input }, "iptables-restore (cleanup)");
    await run("iptables-restore", ["--noflush"], input);
  }
  if (tproxy) {
    for (const cmd of [
      ["-f", "inet", "rule", "del", "fwmark", tproxy.mark, "lookup", tproxy.table],
      ["-f", "inet", "route", "flush", "table", tproxy.table],
    ]) {
      await run("ip", cmd).catch(() => undefined);
    }
  }
}
