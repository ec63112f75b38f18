import { describe, expect, it } from "vitest";
import { ResourceRejectedError } from "../contracts.js";
import { setConnFilterState, setMetadata } from "./authz-input.js";
import { rbac, testConn, testRequest, testTls } from "../test-util/authz.js";
import { compileRbacEngine } from "./rbac-engine.js";

const ANY_PRINCIPAL = [{ any: true }];
const ANY_PERMISSION = [{ any: true }];

function allowIf(permission: unknown, principal: unknown = { any: true }) {
  return compileRbacEngine(rbac({ action: "ALLOW", policies: { p: { permissions: [permission], principals: [principal] } } }), "r", "rules");
}

describe("compileRbacEngine()", () => {
  it("ALLOW with no policies denies everything; DENY with none allows everything", () => {
    expect(compileRbacEngine(rbac({}), "r", "rules").evaluate(testConn(), testRequest()).allowed).toBe(false);
    expect(compileRbacEngine(rbac({ action: "DENY" }), "r", "rules").evaluate(testConn(), testRequest()).allowed).toBe(true);
  });

  it("reports the first matching policy by name", () => {
    const e = compileRbacEngine(rbac({ action: "DENY", policies: { zeta: { permissions: ANY_PERMISSION, principals: ANY_PRINCIPAL }, alpha: { permissions: ANY_PERMISSION, principals: ANY_PRINCIPAL } } }), "r", "rules");
    expect(e.evaluate(testConn(), testRequest())).toEqual({ allowed: false, policyId: "alpha" });
  });

  it("LOG always allows and says whether a policy matched", () => {
    const e = compileRbacEngine(rbac({ action: "LOG", policies: { p: { permissions: [{ header: { name: ":method", exact_match: "POST" } }], principals: ANY_PRINCIPAL } } }), "r", "rules");
    expect(e.evaluate(testConn(), testRequest({ method: "POST" }))).toEqual({ allowed: true, policyId: "p", log: true });
    expect(e.evaluate(testConn(), testRequest())).toEqual({ allowed: true, policyId: "", log: false });
  });

  describe("permissions", () => {
    it("header: exact, prefix, present, invert, absent header, joined multi-values", () => {
      const m = (h: unknown, req = testRequest({ headers: { "x-a": "hello" } })) => allowIf({ header: h }).evaluate(testConn(), req).allowed;
      expect(m({ name: "x-a", exact_match: "hello" })).toBe(true);
      expect(m({ name: "x-a", exact_match: "hell" })).toBe(false);
      expect(m({ name: "x-a", prefix_match: "he" })).toBe(true);
      expect(m({ name: "x-a", string_match: { suffix: "LO", ignore_case: true } })).toBe(true);
      expect(m({ name: "x-a", present_match: true })).toBe(true);
      expect(m({ name: "x-b", present_match: true })).toBe(false);
      expect(m({ name: "x-b", present_match: false })).toBe(true);
      expect(m({ name: "x-b", exact_match: "x", invert_match: true })).toBe(false);
      expect(m({ name: "x-a", exact_match: "x", invert_match: true })).toBe(true);
      expect(m({ name: "x-a", safe_regex_match: { regex: "h.*o" } })).toBe(true);
      expect(m({ name: "x-a", safe_regex_match: { regex: "h" } })).toBe(false);
      const multi = testRequest();
      multi.headers["x-m"] = ["a", "b"];
      expect(m({ name: "x-m", exact_match: "a,b" }, multi)).toBe(true);
      expect(m({ name: ":method", exact_match: "GET" })).toBe(true);
      expect(m({ name: ":authority", exact_match: "example.com" })).toBe(true);
    });

    it("url_path matches the path without query or fragment", () => {
      const e = allowIf({ url_path: { path: { exact: "/p" } } });
      expect(e.evaluate(testConn(), testRequest({ path: "/p" })).allowed).toBe(true);
      expect(e.evaluate(testConn(), testRequest({ path: "/p?x=1" })).allowed).toBe(true);
      expect(e.evaluate(testConn(), testRequest({ path: "/p#f" })).allowed).toBe(true);
      expect(e.evaluate(testConn(), testRequest({ path: "/pp" })).allowed).toBe(false);
      // Paths are case-sensitive.
      expect(e.evaluate(testConn(), testRequest({ path: "/P" })).allowed).toBe(false);
      // :path headers include the query.
      expect(allowIf({ header: { name: ":path", exact_match: "/p" } }).evaluate(testConn(), testRequest({ path: "/p?x" })).allowed).toBe(false);
    });

    it("destination_ip, destination_port, destination_port_range, requested_server_name", () => {
      const conn = testConn({ localAddress: "10.0.0.9:8080", sni: "a.example.com" });
      expect(allowIf({ destination_ip: { address_prefix: "10.0.0.0", prefix_len: 24 } }).evaluate(conn, undefined).allowed).toBe(true);
      expect(allowIf({ destination_ip: { address_prefix: "10.0.1.0", prefix_len: 24 } }).evaluate(conn, undefined).allowed).toBe(false);
      expect(allowIf({ destination_port: 8080 }).evaluate(conn, undefined).allowed).toBe(true);
      expect(allowIf({ destination_port: 80 }).evaluate(conn, undefined).allowed).toBe(false);
      expect(allowIf({ destination_port_range: { start: 8000, end: 8081 } }).evaluate(conn, undefined).allowed).toBe(true);
      expect(allowIf({ destination_port_range: { start: 8000, end: 8080 } }).evaluate(conn, undefined).allowed).toBe(false);
      expect(allowIf({ requested_server_name: { suffix: ".example.com" } }).evaluate(conn, undefined).allowed).toBe(true);
      expect(allowIf({ requested_server_name: { exact: "b" } }).evaluate(conn, undefined).allowed).toBe(false);
      const v6 = testConn({ localAddress: "[fd00::9]:443" });
      expect(allowIf({ destination_ip: { address_prefix: "fd00::", prefix_len: 64 } }).evaluate(v6, undefined).allowed).toBe(true);
      expect(allowIf({ destination_port: 443 }).evaluate(v6, undefined).allowed).toBe(true);
    });

    it("and_rules, or_rules, not_rule", () => {
      const get = { header: { name: ":method", exact_match: "GET" } };
      const info = { url_path: { path: { prefix: "/info" } } };
      const and = allowIf({ and_rules: { rules: [get, info] } });
      const or = allowIf({ or_rules: { rules: [get, info] } });
      const not = allowIf({ not_rule: { and_rules: { rules: [get, info] } } });
      const cases: Array<[string, string, boolean, boolean]> = [
        ["GET", "/info/x", true, true],
        ["POST", "/info/x", false, true],
        ["GET", "/other", false, true],
        ["POST", "/other", false, false],
      ];
      for (const [method, path, a, o] of cases) {
        const req = testRequest({ method, path });
        expect(and.evaluate(testConn(), req).allowed, `${method} ${path} and`).toBe(a);
        expect(or.evaluate(testConn(), req).allowed, `${method} ${path} or`).toBe(o);
        expect(not.evaluate(testConn(), req).allowed, `${method} ${path} not`).toBe(!a);
      }
    });

    it("metadata on a permission", () => {
      const e = allowIf({ metadata: { filter: "f", path: [{ key: "k" }], value: { string_match: { exact: "v" } } } });
      const req = testRequest();
      expect(e.evaluate(testConn(), req).allowed).toBe(false);
      setMetadata(req, "f", { k: "v" });
      expect(e.evaluate(testConn(), req).allowed).toBe(true);
    });
  });

  describe("principals", () => {
    const allowPrincipal = (p: unknown) => allowIf({ any: true }, p);

    it("authenticated.principal_name matches the peer's URI SAN, then DNS SANs, then the subject; never without TLS", () => {
      const e = allowPrincipal({ authenticated: { principal_name: { exact: "spiffe://cluster.local/ns/default/sa/sleep" } } });
      expect(e.evaluate(testConn(), testRequest()).allowed).toBe(false);
      const sleep = testConn({ tls: testTls({ peerUriSan: "spiffe://cluster.local/ns/default/sa/sleep" }) });
      expect(e.evaluate(sleep, testRequest({ conn: sleep })).allowed).toBe(true);
      const other = testConn({ tls: testTls({ peerUriSan: "spiffe://cluster.local/ns/default/sa/other" }) });
      expect(e.evaluate(other, undefined).allowed).toBe(false);
      const dns = testConn({ tls: testTls({ peerDnsSans: ["x", "spiffe://cluster.local/ns/default/sa/sleep"] }) });
      expect(e.evaluate(dns, undefined).allowed).toBe(true);
      const anyTls = allowPrincipal({ authenticated: {} });
      expect(anyTls.evaluate(other, undefined).allowed).toBe(true);
      expect(anyTls.evaluate(testConn(), undefined).allowed).toBe(false);
      const prefix = allowPrincipal({ authenticated: { principal_name: { prefix: "spiffe://cluster.local/ns/default/" } } });
      expect(prefix.evaluate(other, undefined).allowed).toBe(true);
    });

    it("direct_remote_ip / source_ip use the peer address; remote_ip the address after XFF", () => {
      const conn = testConn({ remoteIp: "10.1.2.3" });
      const req = testRequest({ conn });
      req.info.downstreamRemoteAddress = "192.168.7.7:0";
      expect(allowPrincipal({ direct_remote_ip: { address_prefix: "10.1.0.0", prefix_len: 16 } }).evaluate(conn, req).allowed).toBe(true);
      expect(allowPrincipal({ source_ip: { address_prefix: "10.1.2.3", prefix_len: 32 } }).evaluate(conn, req).allowed).toBe(true);
      expect(allowPrincipal({ remote_ip: { address_prefix: "192.168.0.0", prefix_len: 16 } }).evaluate(conn, req).allowed).toBe(true);
      expect(allowPrincipal({ remote_ip: { address_prefix: "10.1.0.0", prefix_len: 16 } }).evaluate(conn, req).allowed).toBe(false);
      // Mapped IPv4 from a dual-stack socket.
      expect(allowPrincipal({ direct_remote_ip: { address_prefix: "10.1.2.0", prefix_len: 24 } }).evaluate(testConn({ remoteIp: "::ffff:10.1.2.3" }), undefined).allowed).toBe(true);
    });

    it("filter_state io.istio.peer_principal (Istio's istio_authn) with exact and regex", () => {
      const exact = allowPrincipal({ filter_state: { key: "io.istio.peer_principal", string_match: { exact: "spiffe://cluster.local/ns/default/sa/sleep" } } });
      const regex = allowPrincipal({ filter_state: { key: "io.istio.peer_principal", string_match: { safe_regex: { regex: ".*/ns/test/.*" } } } });
      const c = testConn();
      expect(exact.evaluate(c, undefined).allowed).toBe(false);
      setConnFilterState(c, "io.istio.peer_principal", "spiffe://cluster.local/ns/default/sa/sleep");
      expect(exact.evaluate(c, testRequest({ conn: c })).allowed).toBe(true);
      expect(regex.evaluate(c, undefined).allowed).toBe(false);
      const t = testConn();
      setConnFilterState(t, "io.istio.peer_principal", "spiffe://cluster.local/ns/test/sa/x");
      expect(regex.evaluate(t, undefined).allowed).toBe(true);
    });

    it("metadata: Istio's request.auth.claims list_match and request.auth.principal, invert, missing", () => {
      const claims = allowPrincipal({
        metadata: { filter: "istio_authn", path: [{ key: "request.auth.claims" }, { key: "iss" }], value: { list_match: { one_of: { string_match: { exact: "https://accounts.google.com" } } } } },
      });
      const principal = allowPrincipal({ metadata: { filter: "istio_authn", path: [{ key: "request.auth.principal" }], value: { string_match: { exact: "iss/sub" } } } });
      const inverted = allowPrincipal({ metadata: { filter: "istio_authn", path: [{ key: "request.auth.principal" }], value: { string_match: { exact: "iss/sub" } }, invert: true } });
      const req = testRequest();
      expect(claims.evaluate(req.conn, req).allowed).toBe(false);
      expect(principal.evaluate(req.conn, req).allowed).toBe(false);
      expect(inverted.evaluate(req.conn, req).allowed).toBe(true);
      setMetadata(req, "istio_authn", { "request.auth.principal": "iss/sub", "request.auth.claims": { iss: ["https://accounts.google.com"] } });
      expect(claims.evaluate(req.conn, req).allowed).toBe(true);
      expect(principal.evaluate(req.conn, req).allowed).toBe(true);
      expect(inverted.evaluate(req.conn, req).allowed).toBe(false);
      // A scalar is not a list.
      setMetadata(req, "istio_authn", { "request.auth.claims": { iss: "https://accounts.google.com" } });
      expect(claims.evaluate(req.conn, req).allowed).toBe(false);
    });

    it("value matchers: bool, double, present, null, or", () => {
      const req = testRequest();
      setMetadata(req, "f", { b: true, d: 3, n: null, s: "x" });
      const m = (key: string, value: unknown) => allowPrincipal({ metadata: { filter: "f", path: [{ key }], value } }).evaluate(req.conn, req).allowed;
      expect(m("b", { bool_match: true })).toBe(true);
      expect(m("b", { bool_match: false })).toBe(false);
      expect(m("d", { double_match: { exact: 3 } })).toBe(true);
      expect(m("d", { double_match: { range: { start: 3, end: 4 } } })).toBe(true);
      expect(m("d", { double_match: { range: { start: 1, end: 3 } } })).toBe(false);
      expect(m("s", { present_match: true })).toBe(true);
      expect(m("zz", { present_match: true })).toBe(false);
      expect(m("n", { null_match: {} })).toBe(true);
      expect(m("zz", { null_match: {} })).toBe(false);
      expect(m("s", { or_match: { value_matchers: [{ string_match: { exact: "y" } }, { string_match: { exact: "x" } }] } })).toBe(true);
    });

    it("and_ids, or_ids, not_id, header and url_path principals", () => {
      const req = testRequest({ path: "/a", headers: { "x-id": "u1" } });
      const idU1 = { header: { name: "x-id", exact_match: "u1" } };
      const pathB = { url_path: { path: { exact: "/b" } } };
      expect(allowPrincipal({ and_ids: { ids: [idU1, pathB] } }).evaluate(req.conn, req).allowed).toBe(false);
      expect(allowPrincipal({ or_ids: { ids: [idU1, pathB] } }).evaluate(req.conn, req).allowed).toBe(true);
      expect(allowPrincipal({ not_id: pathB }).evaluate(req.conn, req).allowed).toBe(true);
      expect(allowPrincipal({ not_id: idU1 }).evaluate(req.conn, req).allowed).toBe(false);
    });
  });

  describe("fail closed", () => {
    it.each([
      ["a CEL condition", { action: "ALLOW", policies: { p: { permissions: ANY_PERMISSION, principals: ANY_PRINCIPAL, condition: { const_expr: { bool_value: true } } } } }, /rules\.policies\[p\]\.condition: CEL/],
      ["an extension matcher", { action: "ALLOW", policies: { p: { permissions: [{ matcher: { name: "m", typed_config: { "@type": "type.googleapis.com/google.protobuf.Empty" } } }], principals: ANY_PRINCIPAL } } }, /permissions\[0\]\.matcher/],
      ["a uri_template", { action: "DENY", policies: { p: { permissions: [{ uri_template: { name: "m", typed_config: { "@type": "type.googleapis.com/google.protobuf.Empty" } } }], principals: ANY_PRINCIPAL } } }, /permissions\[0\]\.uri_template/],
      ["a bad regex", { action: "DENY", policies: { p: { permissions: [{ header: { name: "a", safe_regex_match: { regex: "(" } } }], principals: ANY_PRINCIPAL } } }, /permissions\[0\]\.header\.safe_regex_match\.regex/],
      ["a policy without principals", { action: "ALLOW", policies: { p: { permissions: ANY_PERMISSION } } }, /policies\[p\]\.principals/],
      ["an empty and_rules", { action: "ALLOW", policies: { p: { permissions: [{ and_rules: { rules: [] } }], principals: ANY_PRINCIPAL } } }, /and_rules\.rules/],
      ["an empty permission", { action: "ALLOW", policies: { p: { permissions: [{}], principals: ANY_PRINCIPAL } } }, /permissions\[0\]: a permission rule is required/],
    ])("rejects %s naming the field", (_n, json, re) => {
      let err: unknown;
      try {
        compileRbacEngine(rbac(json), "lst", "rules");
      } catch (e) {
        err = e;
      }
      expect(err).toBeInstanceOf(ResourceRejectedError);
      expect((err as Error).message).toMatch(re);
    });
  });
});
