// CIDR ranges (envoy.config.core.v3.CidrRange): filter-chain matching, RBAC's IP principals and
// permissions, and the HCM's internal address set. Ranges are compiled once; an address is
// checked per connection or per request, so it is parsed in place and nothing is allocated.
import type { CidrRange } from "@weft/xds-api/gen/envoy/config/core/v3/address_pb.js";
import { ResourceRejectedError } from "../contracts.js";

export interface Cidr {
  v6: boolean;
  len: number;
  /** IPv4: the network (masked) and the mask, as unsigned 32-bit values. */
  net: number;
  mask: number;
  /** IPv6: the prefix's eight groups (masked beyond `len`). */
  groups: Uint16Array;
  /** The normalized range, e.g. `4/10.0.0.0/8` (equal ranges have equal keys). */
  key: string;
}

const NOT_V4 = -1;

/** Dotted quad → unsigned 32-bit value, or NOT_V4. Accepts the `::ffff:` mapped form. */
function parseV4(ip: string): number {
  let i = ip.length > 7 && ip.charCodeAt(0) === 58 && ip.startsWith("::ffff:") ? 7 : 0;
  let value = 0;
  for (let part = 0; part < 4; part++) {
    let n = 0;
    let digits = 0;
    for (; i < ip.length; i++) {
      const c = ip.charCodeAt(i);
      if (c < 48 || c > 57) break;
      n = n * 10 + (c - 48);
      if (++digits > 3) return NOT_V4;
    }
    if (digits === 0 || n > 255) return NOT_V4;
    value = value * 256 + n;
    if (part < 3) {
      if (ip.charCodeAt(i) !== 46) return NOT_V4;
      i++;
    }
  }
  return i === ip.length ? value : NOT_V4;
}

// One scratch buffer for IPv6 parsing: every caller is synchronous, so it is never shared.
const scratch = new Uint16Array(8);

/** Parses the ':'-separated hex groups of ip[from, to) into scratch[into…]; their count, or -1. */
function fillGroups(ip: string, from: number, to: number, into: number): number {
  let count = 0;
  let g = 0;
  let digits = 0;
  for (let i = from; i <= to; i++) {
    const c = i < to ? ip.charCodeAt(i) : 58;
    if (c === 58) {
      if (digits === 0 || into + count > 7) return -1;
      scratch[into + count++] = g;
      g = 0;
      digits = 0;
      continue;
    }
    const d = c >= 48 && c <= 57 ? c - 48 : c >= 97 && c <= 102 ? c - 87 : c >= 65 && c <= 70 ? c - 55 : -1;
    if (d < 0 || ++digits > 4) return -1;
    g = g * 16 + d;
  }
  return count;
}

/** Fills `scratch` from an IPv6 address (no zone, no embedded IPv4); false when it is not one. */
function parseV6(ip: string): boolean {
  if (ip.indexOf(":") < 0) return false;
  scratch.fill(0);
  const gap = ip.indexOf("::");
  if (gap < 0) return fillGroups(ip, 0, ip.length, 0) === 8;
  if (ip.indexOf("::", gap + 1) >= 0) return false;
  const head = gap === 0 ? 0 : fillGroups(ip, 0, gap, 0);
  if (head < 0) return false;
  const from = gap + 2;
  if (from >= ip.length) return head <= 7;
  let tail = 1;
  for (let i = from; i < ip.length; i++) if (ip.charCodeAt(i) === 58) tail++;
  return head + tail <= 7 && fillGroups(ip, from, ip.length, 8 - tail) === tail;
}

/** Whether the address in `scratch` lies in the IPv6 range `c`. */
function scratchIn(c: Cidr): boolean {
  let left = c.len;
  for (let i = 0; i < 8 && left > 0; i++, left -= 16) {
    const mask = left >= 16 ? 0xffff : (0xffff << (16 - left)) & 0xffff;
    if ((scratch[i] & mask) !== c.groups[i]) return false;
  }
  return true;
}

const NO_GROUPS = new Uint16Array(0);

/**
 * `unsetLen`: the prefix length when prefix_len is unset. Envoy's CidrRange defaults it to 0 (the
 * whole family); filter-chain matching and RBAC have always read an unset length as the host alone.
 */
export function compileCidr(r: Pick<CidrRange, "addressPrefix" | "prefixLen">, resource: string, field: string, unsetLen: "host" | "zero" = "host"): Cidr {
  const a = parseV4(r.addressPrefix);
  const v6 = a === NOT_V4;
  if (v6 && !parseV6(r.addressPrefix)) throw new ResourceRejectedError(resource, `${field}.address_prefix`, `${JSON.stringify(r.addressPrefix)} is not an IP address`);
  const max = v6 ? 128 : 32;
  const len = r.prefixLen ?? (unsetLen === "zero" ? 0 : max);
  if (len > max) throw new ResourceRejectedError(resource, `${field}.prefix_len`, `${len} exceeds ${max}`);
  if (!v6) {
    const mask = len === 0 ? 0 : (0xffffffff << (32 - len)) >>> 0;
    const net = (a & mask) >>> 0;
    return { v6, len, net, mask, groups: NO_GROUPS, key: `4/${net}/${len}` };
  }
  const groups = new Uint16Array(8);
  let left = len;
  for (let i = 0; i < 8 && left > 0; i++, left -= 16) groups[i] = scratch[i] & (left >= 16 ? 0xffff : (0xffff << (16 - left)) & 0xffff);
  return { v6, len, net: 0, mask: 0, groups, key: `6/${Array.from(groups, (g) => g.toString(16)).join(":")}/${len}` };
}

export function cidrContains(c: Cidr, ip: string): boolean {
  if (!c.v6) {
    const a = parseV4(ip);
    return a !== NOT_V4 && ((a & c.mask) >>> 0) === c.net;
  }
  return parseV6(ip) && scratchIn(c);
}

/** Whether any of `ranges` holds `ip`, parsing the address once. */
export function anyCidrContains(ranges: readonly Cidr[], ip: string): boolean {
  const a = parseV4(ip);
  if (a !== NOT_V4) {
    for (const c of ranges) if (!c.v6 && ((a & c.mask) >>> 0) === c.net) return true;
    return false;
  }
  if (!parseV6(ip)) return false;
  for (const c of ranges) if (c.v6 && scratchIn(c)) return true;
  return false;
}

/** Longest matching prefix length, or -1. */
export function bestCidrMatch(ranges: Cidr[], ip: string): number {
  let best = -1;
  for (const c of ranges) if (c.len > best && cidrContains(c, ip)) best = c.len;
  return best;
}
