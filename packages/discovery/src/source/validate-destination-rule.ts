// DestinationRule checks after istiod's ValidateDestinationRule /
// validateTrafficPolicy / validateConnectionPool / validateOutlierDetection.
import type { FieldChecker, Json } from "./field-checker.js";
import { checkHost } from "./validate-host.js";

const SIMPLE_LB = ["UNSPECIFIED", "ROUND_ROBIN", "LEAST_CONN", "LEAST_REQUEST", "RANDOM", "PASSTHROUGH"];

export function validateDestinationRule(spec: Json, c: FieldChecker): void {
  const host = c.string(spec.host, "spec.host", true);
  if (host) checkHost(c, host, "spec.host");
  validateTrafficPolicy(spec.trafficPolicy, "spec.trafficPolicy", c, true);
  const names = new Set<string>();
  c.array(spec.subsets, "spec.subsets").forEach((s, i) => {
    const subset = c.object_(s, `spec.subsets[${i}]`);
    if (!subset) return;
    const name = c.string(subset.name, `spec.subsets[${i}].name`, true);
    if (name !== undefined) {
      if (names.has(name)) c.fail(`spec.subsets[${i}].name`, `duplicate subset name ${JSON.stringify(name)}`);
      names.add(name);
      if (!/^[a-z0-9]([-a-z0-9_.]*[a-z0-9])?$/i.test(name)) c.fail(`spec.subsets[${i}].name`, `subset name ${JSON.stringify(name)} must be a DNS-1123 label`);
    }
    c.stringMap(subset.labels, `spec.subsets[${i}].labels`);
    validateTrafficPolicy(subset.trafficPolicy, `spec.subsets[${i}].trafficPolicy`, c, true);
  });
  c.array(spec.exportTo, "spec.exportTo").forEach((e, i) => c.string(e, `spec.exportTo[${i}]`, true));
}

function validateTrafficPolicy(value: unknown, path: string, c: FieldChecker, allowPortLevel: boolean): void {
  const tp = c.object_(value, path);
  if (!tp) return;
  const lb = c.object_(tp.loadBalancer, `${path}.loadBalancer`);
  if (lb) {
    if (lb.simple !== undefined) c.oneOf(lb.simple, `${path}.loadBalancer.simple`, SIMPLE_LB);
    const ch = c.object_(lb.consistentHash, `${path}.loadBalancer.consistentHash`);
    if (lb.simple !== undefined && ch) c.fail(`${path}.loadBalancer`, "takes one of simple or consistentHash");
    if (ch) {
      const keys = ["httpHeaderName", "httpCookie", "useSourceIp", "httpQueryParameterName"].filter((k) => ch[k] !== undefined);
      if (keys.length !== 1) c.fail(`${path}.loadBalancer.consistentHash`, `needs exactly one of httpHeaderName, httpCookie, useSourceIp, httpQueryParameterName; got ${keys.length}`);
      const cookie = c.object_(ch.httpCookie, `${path}.loadBalancer.consistentHash.httpCookie`);
      if (cookie) {
        c.string(cookie.name, `${path}.loadBalancer.consistentHash.httpCookie.name`, true);
        if (cookie.ttl !== undefined) c.duration(cookie.ttl, `${path}.loadBalancer.consistentHash.httpCookie.ttl`);
      }
      c.integer(ch.minimumRingSize, `${path}.loadBalancer.consistentHash.minimumRingSize`, 1, 8_388_608);
    }
  }
  const pool = c.object_(tp.connectionPool, `${path}.connectionPool`);
  if (pool) {
    const tcp = c.object_(pool.tcp, `${path}.connectionPool.tcp`);
    if (tcp) {
      c.integer(tcp.maxConnections, `${path}.connectionPool.tcp.maxConnections`, 0, 2 ** 32 - 1);
      if (tcp.connectTimeout !== undefined) c.duration(tcp.connectTimeout, `${path}.connectionPool.tcp.connectTimeout`, 1);
      if (tcp.maxConnectionDuration !== undefined) c.duration(tcp.maxConnectionDuration, `${path}.connectionPool.tcp.maxConnectionDuration`, 1);
      if (tcp.idleTimeout !== undefined) c.duration(tcp.idleTimeout, `${path}.connectionPool.tcp.idleTimeout`);
    }
    const http = c.object_(pool.http, `${path}.connectionPool.http`);
    if (http) {
      for (const k of ["http1MaxPendingRequests", "http2MaxRequests", "maxRequestsPerConnection", "maxRetries", "maxConcurrentStreams"]) {
        c.integer(http[k], `${path}.connectionPool.http.${k}`, 0, 2 ** 32 - 1);
      }
      if (http.idleTimeout !== undefined) c.duration(http.idleTimeout, `${path}.connectionPool.http.idleTimeout`, 1);
      if (http.h2UpgradePolicy !== undefined) c.oneOf(http.h2UpgradePolicy, `${path}.connectionPool.http.h2UpgradePolicy`, ["DEFAULT", "DO_NOT_UPGRADE", "UPGRADE"]);
    }
  }
  const od = c.object_(tp.outlierDetection, `${path}.outlierDetection`);
  if (od) {
    for (const k of ["consecutiveErrors", "consecutive5xxErrors", "consecutiveGatewayErrors", "consecutiveLocalOriginFailures"]) c.integer(od[k], `${path}.outlierDetection.${k}`, 0, 2 ** 32 - 1);
    if (od.interval !== undefined) c.duration(od.interval, `${path}.outlierDetection.interval`, 1);
    if (od.baseEjectionTime !== undefined) c.duration(od.baseEjectionTime, `${path}.outlierDetection.baseEjectionTime`, 1);
    c.integer(od.maxEjectionPercent, `${path}.outlierDetection.maxEjectionPercent`, 0, 100);
    c.integer(od.minHealthPercent, `${path}.outlierDetection.minHealthPercent`, 0, 100);
  }
  const tls = c.object_(tp.tls, `${path}.tls`);
  if (tls && tls.mode !== undefined) c.oneOf(tls.mode, `${path}.tls.mode`, ["DISABLE", "SIMPLE", "MUTUAL", "ISTIO_MUTUAL"]);
  const portLevel = c.array(tp.portLevelSettings, `${path}.portLevelSettings`);
  if (!allowPortLevel && portLevel.length > 0) c.fail(`${path}.portLevelSettings`, "port-level settings cannot nest");
  portLevel.forEach((p, i) => {
    const pl = c.object_(p, `${path}.portLevelSettings[${i}]`);
    if (!pl) return;
    const port = c.object_(pl.port, `${path}.portLevelSettings[${i}].port`);
    if (!port) c.fail(`${path}.portLevelSettings[${i}].port`, "is required");
    else c.port(port.number, `${path}.portLevelSettings[${i}].port.number`, true);
    validateTrafficPolicy({ ...pl, port: undefined }, `${path}.portLevelSettings[${i}]`, c, false);
  });
}
