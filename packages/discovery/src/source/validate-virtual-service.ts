// VirtualService checks, field by field, after istiod's validation webhook
// (pkg/config/validation: validateHTTPRoute, validateHTTPRouteMatchRequest,
// validateHTTPFaultInjection, validateHTTPRetry, validateHTTPRedirect…).
import { FieldChecker, isObject, type Json } from "./field-checker.js";
import { checkHost } from "./validate-host.js";

const RETRY_ON = new Set([
  "5xx", "gateway-error", "reset", "reset-before-request", "connect-failure", "envoy-ratelimited", "retriable-4xx",
  "refused-stream", "retriable-status-codes", "retriable-headers", "http3-post-connect-failure",
  "cancelled", "deadline-exceeded", "internal", "resource-exhausted", "unavailable",
]);

export function validateVirtualService(spec: Json, c: FieldChecker): void {
  const hosts = c.array(spec.hosts, "spec.hosts");
  if (hosts.length === 0) c.fail("spec.hosts", "a VirtualService must have at least one host");
  hosts.forEach((h, i) => checkHost(c, h, `spec.hosts[${i}]`));
  c.array(spec.gateways, "spec.gateways").forEach((g, i) => c.string(g, `spec.gateways[${i}]`, true));
  c.array(spec.http, "spec.http").forEach((r, i) => validateHttpRoute(r, `spec.http[${i}]`, c));
  for (const kind of ["tcp", "tls"] as const) {
    c.array(spec[kind], `spec.${kind}`).forEach((r, i) => {
      const route = c.object_(r, `spec.${kind}[${i}]`);
      if (route) validateDestinations(route.route, `spec.${kind}[${i}].route`, c, true);
    });
  }
}

function validateHttpRoute(value: unknown, path: string, c: FieldChecker): void {
  const r = c.object_(value, path);
  if (!r) return;
  c.string(r.name, `${path}.name`);
  c.array(r.match, `${path}.match`).forEach((m, i) => validateMatch(m, `${path}.match[${i}]`, c));
  const hasRoute = Array.isArray(r.route) && r.route.length > 0;
  const kinds = [hasRoute && "route", r.redirect !== undefined && "redirect", r.directResponse !== undefined && "directResponse", r.delegate !== undefined && "delegate"].filter(Boolean);
  if (kinds.length === 0) c.fail(path, "an HTTP route needs one of route, redirect, directResponse or delegate");
  if (kinds.length > 1) c.fail(path, `an HTTP route takes only one of route, redirect, directResponse, delegate; got ${kinds.join(" and ")}`);
  if (hasRoute) validateDestinations(r.route, `${path}.route`, c, false);
  if (r.timeout !== undefined) c.duration(r.timeout, `${path}.timeout`);
  validateRetries(r.retries, `${path}.retries`, c);
  validateFault(r.fault, `${path}.fault`, c);
  const redirect = c.object_(r.redirect, `${path}.redirect`);
  if (redirect) {
    if (redirect.redirectCode !== undefined) c.integer(redirect.redirectCode, `${path}.redirect.redirectCode`, 300, 399);
    if (redirect.port !== undefined) c.port(redirect.port, `${path}.redirect.port`);
    if (redirect.uri === undefined && redirect.authority === undefined && redirect.scheme === undefined && redirect.port === undefined && redirect.derivePort === undefined) {
      c.fail(`${path}.redirect`, "a redirect must set uri, authority, scheme or port");
    }
  }
  const direct = c.object_(r.directResponse, `${path}.directResponse`);
  if (direct) {
    if (direct.status === undefined) c.fail(`${path}.directResponse.status`, "is required");
    else c.integer(direct.status, `${path}.directResponse.status`, 200, 599);
  }
  const rewrite = c.object_(r.rewrite, `${path}.rewrite`);
  if (rewrite) {
    c.string(rewrite.uri, `${path}.rewrite.uri`);
    c.string(rewrite.authority, `${path}.rewrite.authority`);
    const rr = c.object_(rewrite.uriRegexRewrite, `${path}.rewrite.uriRegexRewrite`);
    if (rr) c.regex(rr.match, `${path}.rewrite.uriRegexRewrite.match`);
  }
  const mirror = c.object_(r.mirror, `${path}.mirror`);
  if (mirror) validateDestination(mirror, `${path}.mirror`, c);
  if (r.mirrorPercentage !== undefined) c.percentage(r.mirrorPercentage, `${path}.mirrorPercentage`);
  const mirrors = c.array(r.mirrors, `${path}.mirrors`);
  if (mirror && mirrors.length > 0) c.fail(`${path}.mirrors`, "cannot be set with mirror: use one of mirror and mirrors");
  mirrors.forEach((m, i) => {
    const policy = c.object_(m, `${path}.mirrors[${i}]`);
    if (!policy) return;
    const destination = c.object_(policy.destination, `${path}.mirrors[${i}].destination`);
    if (destination) validateDestination(destination, `${path}.mirrors[${i}].destination`, c);
    else if (policy.destination === undefined) c.fail(`${path}.mirrors[${i}].destination`, "is required");
    if (policy.percentage !== undefined) c.percentage(policy.percentage, `${path}.mirrors[${i}].percentage`);
  });
  validateHeaders(r.headers, `${path}.headers`, c);
  const cors = c.object_(r.corsPolicy, `${path}.corsPolicy`);
  if (cors) {
    c.array(cors.allowOrigins, `${path}.corsPolicy.allowOrigins`).forEach((o, i) => validateStringMatch(o, `${path}.corsPolicy.allowOrigins[${i}]`, c));
    if (cors.maxAge !== undefined) c.duration(cors.maxAge, `${path}.corsPolicy.maxAge`);
  }
}

function validateMatch(value: unknown, path: string, c: FieldChecker): void {
  const m = c.object_(value, path);
  if (!m) return;
  for (const key of ["uri", "scheme", "method", "authority"]) {
    if (m[key] !== undefined) validateStringMatch(m[key], `${path}.${key}`, c);
  }
  for (const key of ["headers", "queryParams", "withoutHeaders"]) {
    const map = c.object_(m[key], `${path}.${key}`);
    if (!map) continue;
    for (const [name, sm] of Object.entries(map)) {
      if (name === "") c.fail(`${path}.${key}`, "header name must not be empty");
      validateStringMatch(sm, `${path}.${key}.${name}`, c, true);
    }
  }
  if (m.port !== undefined) c.port(m.port, `${path}.port`);
  c.stringMap(m.sourceLabels, `${path}.sourceLabels`);
}

/** Istio's StringMatch: exactly one of exact, prefix, regex (an empty match means "present" for headers). */
function validateStringMatch(value: unknown, path: string, c: FieldChecker, allowEmpty = false): void {
  const sm = c.object_(value, path);
  if (!sm) return;
  const keys = Object.keys(sm).filter((k) => ["exact", "prefix", "regex"].includes(k));
  const unknown = Object.keys(sm).filter((k) => !["exact", "prefix", "regex"].includes(k));
  if (unknown.length > 0) c.fail(path, `unknown string match ${unknown.join(", ")}; use exact, prefix or regex`);
  if (keys.length > 1) c.fail(path, `a string match takes one of exact, prefix, regex; got ${keys.join(" and ")}`);
  if (keys.length === 0 && !allowEmpty) c.fail(path, "a string match needs exact, prefix or regex");
  for (const k of keys) c.string(sm[k], `${path}.${k}`);
  if (sm.regex !== undefined) c.regex(sm.regex, `${path}.regex`);
}

export function validateDestination(d: Json, path: string, c: FieldChecker): void {
  const host = c.string(d.host, `${path}.host`, true);
  if (host !== undefined) checkHost(c, host, `${path}.host`);
  const port = c.object_(d.port, `${path}.port`);
  if (port) c.port(port.number, `${path}.port.number`);
  c.string(d.subset, `${path}.subset`);
}

function validateDestinations(value: unknown, path: string, c: FieldChecker, tcp: boolean): void {
  const routes = c.array(value, path);
  if (tcp && routes.length === 0) c.fail(path, "at least one destination is required");
  let total = 0;
  let weighted = false;
  routes.forEach((rd, i) => {
    const r = c.object_(rd, `${path}[${i}]`);
    if (!r) return;
    const d = c.object_(r.destination, `${path}[${i}].destination`);
    if (!d) c.fail(`${path}[${i}].destination`, "is required");
    else validateDestination(d, `${path}[${i}].destination`, c);
    if (r.weight !== undefined) {
      weighted = true;
      const w = c.integer(r.weight, `${path}[${i}].weight`, 0, 100);
      total += w ?? 0;
    }
    if (!tcp) validateHeaders(r.headers, `${path}[${i}].headers`, c);
  });
  // istiod: with more than one destination the weights must add up to 100
  // (a single destination implicitly takes 100).
  if (routes.length > 1 && (weighted ? total !== 100 : true)) {
    c.fail(path, `destination weights add up to ${weighted ? total : 0}, they must add up to 100`);
  }
}

function validateRetries(value: unknown, path: string, c: FieldChecker): void {
  const r = c.object_(value, path);
  if (!r) return;
  c.integer(r.attempts, `${path}.attempts`, 0, 2 ** 31 - 1);
  if (r.perTryTimeout !== undefined) c.duration(r.perTryTimeout, `${path}.perTryTimeout`, 1);
  const on = c.string(r.retryOn, `${path}.retryOn`);
  if (on !== undefined) {
    for (const p of on.split(",").map((s) => s.trim())) {
      if (p === "" || RETRY_ON.has(p)) continue;
      const code = Number(p);
      if (!Number.isInteger(code) || code < 100 || code > 599) c.fail(`${path}.retryOn`, `${JSON.stringify(p)} is neither an Envoy retry condition nor an HTTP status code`);
    }
  }
}

function validateFault(value: unknown, path: string, c: FieldChecker): void {
  const f = c.object_(value, path);
  if (!f) return;
  const delay = c.object_(f.delay, `${path}.delay`);
  if (delay) {
    if (delay.fixedDelay === undefined && delay.exponentialDelay === undefined) c.fail(`${path}.delay.fixedDelay`, "is required");
    if (delay.fixedDelay !== undefined) c.duration(delay.fixedDelay, `${path}.delay.fixedDelay`, 1);
    if (delay.percentage !== undefined) c.percentage(delay.percentage, `${path}.delay.percentage`);
    if (delay.percent !== undefined) c.integer(delay.percent, `${path}.delay.percent`, 0, 100);
  }
  const abort = c.object_(f.abort, `${path}.abort`);
  if (abort) {
    if (abort.httpStatus === undefined && abort.grpcStatus === undefined && abort.http2Error === undefined) c.fail(`${path}.abort`, "needs httpStatus or grpcStatus");
    if (abort.httpStatus !== undefined) c.integer(abort.httpStatus, `${path}.abort.httpStatus`, 200, 599);
    if (abort.percentage !== undefined) c.percentage(abort.percentage, `${path}.abort.percentage`);
  }
  if (!delay && !abort) c.fail(path, "a fault needs delay or abort");
}

function validateHeaders(value: unknown, path: string, c: FieldChecker): void {
  const h = c.object_(value, path);
  if (!h) return;
  for (const dir of ["request", "response"]) {
    const ops = c.object_(h[dir], `${path}.${dir}`);
    if (!ops) continue;
    c.stringMap(ops.set, `${path}.${dir}.set`);
    c.stringMap(ops.add, `${path}.${dir}.add`);
    c.array(ops.remove, `${path}.${dir}.remove`).forEach((n, i) => c.string(n, `${path}.${dir}.remove[${i}]`, true));
    for (const k of ["set", "add"]) {
      if (!isObject(ops[k])) continue;
      for (const name of Object.keys(ops[k] as Json)) {
        if (name.startsWith(":")) c.fail(`${path}.${dir}.${k}.${name}`, "pseudo-headers cannot be set; use rewrite.authority");
      }
    }
  }
}
