// HttpConnectionManager.internal_address_config → the predicate Envoy's
// InternalAddressConfig::isInternalAddress is: a Unix-socket peer is internal
// only with unix_sockets; an IP is internal when it falls in cidr_ranges, or —
// with no cidr_ranges — in Envoy's classic set (Network::Utility::
// isInternalAddress: 10/8, 172.16/12, 192.168/16, 127.0.0.1, ::1, fd00::/8).
// Runs once per request: parses the address in place, allocating nothing.
import type { HttpConnectionManager_InternalAddressConfig } from "@weft/xds-api/gen/envoy/extensions/filters/network/http_connection_manager/v3/http_connection_manager_pb.js";
import { ResourceRejectedError } from "../contracts.js";

/** `ip` is the peer's address as a string; "" for a Unix-socket peer. */
export type InternalAddressPredicate = (ip: string) => boolean;

const NOT_V4 = -1;

/** Dotted quad → unsigned 32-bit value, or NOT_V4. Accepts the `::ffff:` mapped form. */
function v4(ip: string): number {
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

// One scratch buffer for IPv6 parsing: the request path is synchronous, so it is never shared.
const groups = new Uint16Array(8);

/** Parses the ':'-separated hex groups of ip[from, to) into groups[into…]; their count, or -1. */
function fillGroups(ip: string, from: number, to: number, into: number): number {
  let count = 0;
  let g = 0;
  let digits = 0;
  for (let i = from; i <= to; i++) {
    const c = i < to ? ip.charCodeAt(i) : 58;
    if (c === 58) {
      if (digits === 0 || into + count > 7) return -1;
      groups[into + count++] = g;
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

/** Fills `groups` from an IPv6 address (no zone, no embedded IPv4); false when it is not one. */
function v6(ip: string): boolean {
  if (ip.indexOf(":") < 0) return false;
  groups.fill(0);
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

interface Range4 {
  net: number;
  mask: number;
}

interface Range6 {
  prefix: Uint16Array;
  len: number;
}

function inRange6(r: Range6): boolean {
  let left = r.len;
  for (let i = 0; i < 8 && left > 0; i++, left -= 16) {
    const bits = left >= 16 ? 16 : left;
    const mask = (0xffff << (16 - bits)) & 0xffff;
    if ((groups[i] & mask) !== (r.prefix[i] & mask)) return false;
  }
  return true;
}

/** Envoy's default internal set (no cidr_ranges). */
export function isClassicInternalAddress(ip: string): boolean {
  const a = v4(ip);
  if (a !== NOT_V4) {
    const hi = a >>> 24;
    const second = (a >>> 16) & 0xff;
    // Loopback is exactly 127.0.0.1 in Envoy's check, not 127/8.
    return hi === 10 || (hi === 192 && second === 168) || (hi === 172 && second >= 16 && second <= 31) || a === 0x7f000001;
  }
  if (!v6(ip)) return false;
  if (groups[0] >>> 8 === 0xfd) return true;
  for (let i = 0; i < 7; i++) if (groups[i] !== 0) return false;
  return groups[7] === 1;
}

export function compileInternalAddressConfig(c: HttpConnectionManager_InternalAddressConfig | undefined, resource: string, field: string): InternalAddressPredicate {
  const unixSockets = c?.unixSockets ?? false;
  if (!c?.cidrRanges.length) return (ip) => (ip === "" ? unixSockets : isClassicInternalAddress(ip));
  const r4: Range4[] = [];
  const r6: Range6[] = [];
  c.cidrRanges.forEach((r, i) => {
    const f = `${field}.cidr_ranges[${i}]`;
    const a = v4(r.addressPrefix);
    // CidrRange.prefix_len defaults to 0 when unset (Envoy's docs): such a range covers its whole family.
    const len = r.prefixLen ?? 0;
    if (a !== NOT_V4) {
      if (len > 32) throw new ResourceRejectedError(resource, `${f}.prefix_len`, `${len} exceeds 32`);
      const mask = len === 0 ? 0 : (0xffffffff << (32 - len)) >>> 0;
      r4.push({ net: (a & mask) >>> 0, mask });
    } else if (v6(r.addressPrefix)) {
      if (len > 128) throw new ResourceRejectedError(resource, `${f}.prefix_len`, `${len} exceeds 128`);
      r6.push({ prefix: Uint16Array.from(groups), len });
    } else {
      throw new ResourceRejectedError(resource, `${f}.address_prefix`, `${JSON.stringify(r.addressPrefix)} is not an IP address`);
    }
  });
  return (ip) => {
    if (ip === "") return unixSockets;
    const a = v4(ip);
    if (a !== NOT_V4) {
      for (const r of r4) if (((a & r.mask) >>> 0) === r.net) return true;
      return false;
    }
    if (r6.length === 0 || !v6(ip)) return false;
    for (const r of r6) if (inRange6(r)) return true;
    return false;
  };
}
