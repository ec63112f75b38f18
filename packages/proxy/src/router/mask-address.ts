// masked_remote_address: the client address with its host bits cleared, written
// as Envoy's CidrRange::asString writes it ("10.1.2.0/24", "2001:db8::/64";
// IPv6 in inet_ntop's form: lower-case, no leading zeros, the longest run of
// two or more zero groups written "::").
import { isIP } from "node:net";

/** `ip` masked to `v4` or `v6` bits, "<address>/<len>"; undefined when `ip` is not an IP address. */
export function maskAddress(ip: string, v4: number, v6: number): string | undefined {
  // A dual-stack socket reports IPv4 clients as ::ffff:a.b.c.d; Envoy sees them as IPv4.
  if (ip.startsWith("::ffff:") && ip.includes(".")) ip = ip.slice(7);
  const kind = isIP(ip);
  if (kind === 4) {
    const parts = ip.split(".").map(Number);
    let bits = ((parts[0]! << 24) | (parts[1]! << 16) | (parts[2]! << 8) | parts[3]!) >>> 0;
    bits = v4 === 0 ? 0 : (bits & (0xffffffff << (32 - v4))) >>> 0;
    return `${bits >>> 24}.${(bits >>> 16) & 255}.${(bits >>> 8) & 255}.${bits & 255}/${v4}`;
  }
  if (kind === 6) {
    const groups = ipv6Groups(ip);
    for (let g = 0; g < 8; g++) {
      const keep = Math.max(0, Math.min(16, v6 - g * 16));
      groups[g] = keep === 0 ? 0 : groups[g]! & ((0xffff << (16 - keep)) & 0xffff);
    }
    return `${formatIpv6(groups)}/${v6}`;
  }
  return undefined;
}

function ipv6Groups(ip: string): number[] {
  const zone = ip.indexOf("%");
  if (zone >= 0) ip = ip.slice(0, zone);
  const [head, tail] = ip.split("::") as [string, string | undefined];
  const parse = (s: string): number[] => {
    if (!s) return [];
    const out: number[] = [];
    for (const p of s.split(":")) {
      if (p.includes(".")) {
        const [a, b, c, d] = p.split(".").map(Number) as [number, number, number, number];
        out.push((a << 8) | b, (c << 8) | d);
      } else out.push(parseInt(p, 16));
    }
    return out;
  };
  const h = parse(head);
  const t = tail === undefined ? [] : parse(tail);
  return [...h, ...Array<number>(8 - h.length - t.length).fill(0), ...t];
}

function formatIpv6(groups: number[]): string {
  let bestAt = -1;
  let bestLen = 0;
  for (let i = 0; i < 8; ) {
    if (groups[i] !== 0) {
      i++;
      continue;
    }
    let j = i;
    while (j < 8 && groups[j] === 0) j++;
    if (j - i > bestLen) [bestAt, bestLen] = [i, j - i];
    i = j;
  }
  const hex = groups.map((g) => g.toString(16));
  if (bestLen < 2) return hex.join(":");
  return `${hex.slice(0, bestAt).join(":")}::${hex.slice(bestAt + bestLen).join(":")}`;
}
