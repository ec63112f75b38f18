// CIDR ranges (envoy.config.core.v3.CidrRange) for filter-chain matching.
import { isIP } from "node:net";
import type { CidrRange } from "@weft/xds-api/gen/envoy/config/core/v3/address_pb.js";
import { ResourceRejectedError } from "../contracts.js";

export interface Cidr {
  v6: boolean;
  bits: bigint;
  len: number;
}

function ipToBigInt(ip: string): { v6: boolean; bits: bigint } | undefined {
  if (ip.startsWith("::ffff:") && ip.includes(".")) ip = ip.slice(7);
  const kind = isIP(ip);
  if (kind === 4) {
    let v = 0n;
    for (const p of ip.split(".")) v = (v << 8n) | BigInt(Number(p));
    return { v6: false, bits: v };
  }
  if (kind === 6) {
    const [head, tail] = ip.split("::");
    const h = head ? head.split(":") : [];
    const t = tail !== undefined ? (tail ? tail.split(":") : []) : [];
    const fill = tail !== undefined ? 8 - h.length - t.length : 0;
    const groups = [...h, ...Array(fill).fill("0"), ...t];
    let v = 0n;
    for (const g of groups) v = (v << 16n) | BigInt(parseInt(g || "0", 16));
    return { v6: true, bits: v };
  }
  return undefined;
}

export function compileCidr(r: Pick<CidrRange, "addressPrefix" | "prefixLen">, resource: string, field: string): Cidr {
  const ip = ipToBigInt(r.addressPrefix);
  if (!ip) throw new ResourceRejectedError(resource, `${field}.address_prefix`, `${JSON.stringify(r.addressPrefix)} is not an IP address`);
  const max = ip.v6 ? 128 : 32;
  const len = r.prefixLen ?? max;
  if (len > max) throw new ResourceRejectedError(resource, `${field}.prefix_len`, `${len} exceeds ${max}`);
  const shift = BigInt(max - len);
  return { v6: ip.v6, bits: (ip.bits >> shift) << shift, len };
}

export function cidrContains(c: Cidr, ip: string): boolean {
  const v = ipToBigInt(ip);
  if (!v || v.v6 !== c.v6) return false;
  const shift = BigInt((c.v6 ? 128 : 32) - c.len);
  return (v.bits >> shift) << shift === c.bits;
}

/** Longest matching prefix length, or -1. */
export function bestCidrMatch(ranges: Cidr[], ip: string): number {
  let best = -1;
  for (const c of ranges) if (c.len > best && cidrContains(c, ip)) best = c.len;
  return best;
}
