// Parses listen addresses as Istio's flags take them: `host:port`, `:port`
// (all interfaces) or `[v6]:port`.

export interface ListenAddress {
  host: string;
  port: number;
}

export function parseListenAddress(flag: string, value: string): ListenAddress {
  const m = /^(?:\[([0-9a-fA-F:.]+)\]|([^:[\]]*)):(\d{1,5})$/.exec(value);
  if (!m) throw new Error(`${flag} ${JSON.stringify(value)}: expected host:port, :port or [ipv6]:port`);
  const port = Number(m[3]);
  if (port > 65535) throw new Error(`${flag} ${JSON.stringify(value)}: port ${port} is out of range 0-65535`);
  const host = m[1] ?? (m[2] || "0.0.0.0");
  return { host, port };
}

export function formatAddress(a: { address: string; port: number; family?: string }): string {
  return a.address.includes(":") ? `[${a.address}]:${a.port}` : `${a.address}:${a.port}`;
}
