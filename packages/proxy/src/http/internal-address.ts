// HttpConnectionManager.internal_address_config → the predicate Envoy's
// InternalAddressConfig::isInternalAddress is: a Unix-socket peer is internal
// only with unix_sockets; an IP is internal when it falls in cidr_ranges, or —
// with no cidr_ranges — in Envoy's classic set (Network::Utility::
// isInternalAddress: 10/8, 172.16/12, 192.168/16, 127.0.0.1, ::1, fd00::/8).
// Runs once per request: the address is parsed in place (listener/cidr.ts).
import type { HttpConnectionManager_InternalAddressConfig } from "@weft/xds-api/gen/envoy/extensions/filters/network/http_connection_manager/v3/http_connection_manager_pb.js";
import { anyCidrContains, compileCidr, type Cidr } from "../listener/cidr.js";

/** `ip` is the peer's address as a string; "" for a Unix-socket peer. */
export type InternalAddressPredicate = (ip: string) => boolean;

const CLASSIC: readonly Cidr[] = [
  ["10.0.0.0", 8],
  ["172.16.0.0", 12],
  ["192.168.0.0", 16],
  // Loopback is exactly 127.0.0.1 in Envoy's check, not 127/8.
  ["127.0.0.1", 32],
  ["::1", 128],
  ["fd00::", 8],
].map(([addressPrefix, prefixLen]) => compileCidr({ addressPrefix: addressPrefix as string, prefixLen: prefixLen as number }, "internal addresses", "classic"));

/** Envoy's default internal set (no cidr_ranges). */
export function isClassicInternalAddress(ip: string): boolean {
  return anyCidrContains(CLASSIC, ip);
}

export function compileInternalAddressConfig(c: HttpConnectionManager_InternalAddressConfig | undefined, resource: string, field: string): InternalAddressPredicate {
  const unixSockets = c?.unixSockets ?? false;
  // CidrRange.prefix_len defaults to 0 when unset (Envoy's docs): such a range covers its whole family.
  const ranges = c?.cidrRanges.length ? c.cidrRanges.map((r, i) => compileCidr(r, resource, `${field}.cidr_ranges[${i}]`, "zero")) : CLASSIC;
  return (ip) => (ip === "" ? unixSockets : anyCidrContains(ranges, ip));
}
