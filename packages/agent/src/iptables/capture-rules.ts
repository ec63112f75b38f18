import { ALWAYS_EXCLUDED_INBOUND_PORTS, type CaptureOptions } from "./capture-options.js";

export type Table = "nat" | "mangle";

/** One table's share of the capture: its own chains, their rules, and jumps hooked into built-in chains. */
export interface TableRules {
  table: Table;
  /** ISTIO_* chains, created (or flushed) atomically. */
  chains: string[];
  /** Rules on the ISTIO_* chains, in iptables-save form (`-A CHAIN …`). */
  rules: string[];
  /** Rules on built-in chains (PREROUTING/OUTPUT), added only when not already present. */
  jumps: string[];
}

export interface CaptureRules {
  tables: TableRules[];
  /** `ip` commands TPROXY needs (policy routing of marked packets to the local table). */
  ipCommands: string[][];
}

const tcpDport = (port: string) => `-p tcp -m tcp --dport ${port}`;
const hexMark = (mark: string) => `0x${Number(mark).toString(16)}/0xffffffff`;

/**
 * The rules istio-iptables builds for these options (tools/istio-iptables/pkg/capture/run.go),
 * written directly in iptables-save's canonical form so that `--dry-run` output, the restore
 * input and `iptables-save -t nat` line up line for line (testdata/istio-iptables-nat.txt).
 */
export function buildCaptureRules(o: CaptureOptions): CaptureRules {
  const nat: TableRules = { table: "nat", chains: ["ISTIO_INBOUND", "ISTIO_IN_REDIRECT", "ISTIO_OUTPUT", "ISTIO_REDIRECT"], rules: [], jumps: [] };
  const mangle: TableRules = { table: "mangle", chains: [], rules: [], jumps: [] };
  const ipCommands: string[][] = [];
  const add = (t: TableRules, chain: string, spec: string) => t.rules.push(`-A ${chain} ${spec}`);

  // Outbound (and, in REDIRECT mode, inbound) redirection targets.
  add(nat, "ISTIO_REDIRECT", `-p tcp -j REDIRECT --to-ports ${o.proxyPort}`);
  add(nat, "ISTIO_IN_REDIRECT", `-p tcp -j REDIRECT --to-ports ${o.inboundCapturePort}`);

  // Inbound.
  if (o.inboundPortsInclude !== "") {
    const excluded = [...ALWAYS_EXCLUDED_INBOUND_PORTS, ...o.inboundPortsExclude.filter((p) => !ALWAYS_EXCLUDED_INBOUND_PORTS.includes(p))];
    if (o.mode === "TPROXY") {
      mangle.chains.push("ISTIO_DIVERT", "ISTIO_INBOUND", "ISTIO_TPROXY");
      mangle.jumps.push("-A PREROUTING -p tcp -j ISTIO_INBOUND");
      add(mangle, "ISTIO_DIVERT", `-j MARK --set-xmark ${hexMark(o.inboundTproxyMark)}`);
      add(mangle, "ISTIO_DIVERT", "-j ACCEPT");
      add(mangle, "ISTIO_TPROXY", `! -d 127.0.0.1/32 -p tcp -j TPROXY --on-port ${o.inboundCapturePort} --on-ip 0.0.0.0 --tproxy-mark ${hexMark(o.inboundTproxyMark)}`);
      if (o.inboundPortsInclude === "*") {
        for (const p of excluded) add(mangle, "ISTIO_INBOUND", `${tcpDport(p)} -j RETURN`);
        // Packets of connections already diverted keep going to the local socket (-m socket).
        add(mangle, "ISTIO_INBOUND", "-p tcp -m socket -j ISTIO_DIVERT");
        add(mangle, "ISTIO_INBOUND", "-p tcp -j ISTIO_TPROXY");
      } else {
        for (const p of o.inboundPortsInclude.split(",")) {
          add(mangle, "ISTIO_INBOUND", `${tcpDport(p)} -m socket -j ISTIO_DIVERT`);
          add(mangle, "ISTIO_INBOUND", `${tcpDport(p)} -j ISTIO_TPROXY`);
        }
      }
      ipCommands.push(
        ["-f", "inet", "rule", "add", "fwmark", o.inboundTproxyMark, "lookup", o.inboundTproxyRouteTable],
        ["-f", "inet", "route", "add", "local", "default", "dev", "lo", "table", o.inboundTproxyRouteTable],
      );
    } else {
      nat.jumps.push("-A PREROUTING -p tcp -j ISTIO_INBOUND");
      if (o.inboundPortsInclude === "*") {
        for (const p of excluded) add(nat, "ISTIO_INBOUND", `${tcpDport(p)} -j RETURN`);
        add(nat, "ISTIO_INBOUND", "-p tcp -j ISTIO_IN_REDIRECT");
      } else {
        for (const p of o.inboundPortsInclude.split(",")) add(nat, "ISTIO_INBOUND", `${tcpDport(p)} -j ISTIO_IN_REDIRECT`);
      }
    }
  }

  // Outbound.
  nat.jumps.push("-A OUTPUT -p tcp -j ISTIO_OUTPUT");
  // Port exclusions must come before connections back to self are redirected.
  for (const p of o.outboundPortsExclude) add(nat, "ISTIO_OUTPUT", `${tcpDport(p)} -j RETURN`);
  // 127.0.0.6 is the source the inbound passthrough cluster binds to reach the app.
  add(nat, "ISTIO_OUTPUT", "-s 127.0.0.6/32 -o lo -j RETURN");
  const loopbackIncluded = o.outboundIpRangesInclude.split(",").some((c) => c.startsWith("127."));
  const owner = (kind: "uid" | "gid", id: string) => {
    // The proxy calling an app of this pod through its service VIP goes back through inbound.
    add(nat, "ISTIO_OUTPUT", `! -d 127.0.0.1/32 -o lo -m owner --${kind}-owner ${id} -j ISTIO_IN_REDIRECT`);
    // The app calling itself over lo by its own address is not captured.
    if (!loopbackIncluded) add(nat, "ISTIO_OUTPUT", `-o lo -m owner ! --${kind}-owner ${id} -j RETURN`);
    // Everything else the proxy sends goes out directly: no loop through itself.
    add(nat, "ISTIO_OUTPUT", `-m owner --${kind}-owner ${id} -j RETURN`);
  };
  for (const uid of o.proxyUids) owner("uid", uid);
  for (const gid of o.proxyGids) owner("gid", gid);
  add(nat, "ISTIO_OUTPUT", "-d 127.0.0.1/32 -j RETURN");
  for (const cidr of o.outboundIpRangesExclude) add(nat, "ISTIO_OUTPUT", `-d ${withPrefix(cidr)} -j RETURN`);
  for (const p of o.outboundPortsInclude) add(nat, "ISTIO_OUTPUT", `${tcpDport(p)} -j ISTIO_REDIRECT`);
  if (o.outboundIpRangesInclude === "*") add(nat, "ISTIO_OUTPUT", "-j ISTIO_REDIRECT");
  else for (const cidr of o.outboundIpRangesInclude.split(",").filter(Boolean)) add(nat, "ISTIO_OUTPUT", `-d ${withPrefix(cidr)} -j ISTIO_REDIRECT`);

  return { tables: mangle.chains.length > 0 ? [nat, mangle] : [nat], ipCommands };
}

function withPrefix(cidr: string): string {
  return cidr.includes("/") ? cidr : `${cidr}/32`;
}

/** Sorts like iptables-save: by chain name, keeping the order of rules within a chain. */
function rulesByChain(rules: string[]): string[] {
  const chainOf = (r: string) => r.split(" ")[1];
  return rules.map((r, i) => [r, i] as const).sort((a, b) => (chainOf(a[0]) < chainOf(b[0]) ? -1 : chainOf(a[0]) > chainOf(b[0]) ? 1 : a[1] - b[1])).map(([r]) => r);
}

/** The rules in iptables-save form (what `--dry-run` prints). */
export function renderSave(rules: CaptureRules): string {
  const out: string[] = [];
  for (const t of rules.tables) {
    out.push(`*${t.table}`);
    for (const c of [...t.chains].sort()) out.push(`:${c} - [0:0]`);
    out.push(...t.jumps, ...rulesByChain(t.rules), "COMMIT");
  }
  for (const cmd of rules.ipCommands) out.push(`# ip ${cmd.join(" ")}`);
  return out.join("\n") + "\n";
}
