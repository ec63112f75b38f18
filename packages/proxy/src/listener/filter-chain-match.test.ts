import { describe, expect, it } from "vitest";
import { fromEnvoyJson } from "@weft/xds-api";
import { FilterChainMatchSchema } from "@weft/xds-api/gen/envoy/config/listener/v3/listener_components_pb.js";
import { compileChainMatch, selectFilterChain, type ConnFacts } from "./filter-chain-match.js";
import { inspectHttp, parseClientHello } from "./inspectors.js";
import * as tls from "node:tls";
import * as net from "node:net";

const chains = [
  ["any", {}],
  ["port-80", { destination_port: 80 }],
  ["port-80-10/8", { destination_port: 80, prefix_ranges: [{ address_prefix: "10.0.0.0", prefix_len: 8 }] }],
  ["port-80-10.1/16", { destination_port: 80, prefix_ranges: [{ address_prefix: "10.1.0.0", prefix_len: 16 }] }],
  ["port-443-sni-exact", { destination_port: 443, server_names: ["api.example.com"] }],
  ["port-443-sni-wild", { destination_port: 443, server_names: ["*.example.com"] }],
  ["port-443-tls", { destination_port: 443, transport_protocol: "tls" }],
  ["port-443-none", { destination_port: 443 }],
  ["port-9000-h2c", { destination_port: 9000, application_protocols: ["h2c"] }],
  ["port-9000-http11", { destination_port: 9000, application_protocols: ["http/1.1", "http/1.0"] }],
  ["port-9000-raw", { destination_port: 9000, transport_protocol: "raw_buffer" }],
  ["port-9001-h2c", { destination_port: 9001, application_protocols: ["h2c"] }],
  ["port-9001-http11", { destination_port: 9001, application_protocols: ["http/1.1", "http/1.0"] }],
  ["port-9001-none", { destination_port: 9001 }],
  ["port-7000-src", { destination_port: 7000, source_prefix_ranges: [{ address_prefix: "192.168.0.0", prefix_len: 16 }] }],
  ["port-7000-srcport", { destination_port: 7000, source_ports: [5555] }],
  ["port-6000-only-src", { destination_port: 6000, source_prefix_ranges: [{ address_prefix: "192.168.0.0", prefix_len: 16 }] }],
].map(([name, m]) => ({ name: name as string, match: compileChainMatch(fromEnvoyJson(FilterChainMatchSchema, m as never), "l", "m") }));

const facts = (f: Partial<ConnFacts>): ConnFacts => ({
  destIp: "127.0.0.1",
  destPort: 1234,
  transportProtocol: "raw_buffer",
  applicationProtocols: [],
  directSourceIp: "127.0.0.1",
  sourceIp: "127.0.0.1",
  sourcePort: 40000,
  ...f,
});

describe("selectFilterChain() follows Envoy's precedence", () => {
  it.each([
    [{ destPort: 1 }, "any"],
    [{ destPort: 80, destIp: "192.168.1.1" }, "port-80"],
    [{ destPort: 80, destIp: "10.2.0.1" }, "port-80-10/8"],
    [{ destPort: 80, destIp: "10.1.2.3" }, "port-80-10.1/16"],
    [{ destPort: 443, serverName: "api.example.com", transportProtocol: "tls" }, "port-443-sni-exact"],
    [{ destPort: 443, serverName: "www.example.com", transportProtocol: "tls" }, "port-443-sni-wild"],
    [{ destPort: 443, serverName: "other.org", transportProtocol: "tls" }, "port-443-tls"],
    [{ destPort: 443 }, "port-443-none"],
    // transport_protocol is decided before application_protocols (no backtracking).
    [{ destPort: 9000, applicationProtocols: ["h2c"] }, "port-9000-raw"],
    [{ destPort: 9001, applicationProtocols: ["h2c"] }, "port-9001-h2c"],
    [{ destPort: 9001, applicationProtocols: ["http/1.0"] }, "port-9001-http11"],
    [{ destPort: 9001 }, "port-9001-none"],
    [{ destPort: 7000, sourceIp: "192.168.3.3", sourcePort: 5555 }, "port-7000-src"],
    [{ destPort: 7000, sourceIp: "172.16.0.1", sourcePort: 5555 }, "port-7000-srcport"],
    [{ destPort: 6000, sourceIp: "172.16.0.1" }, undefined],
  ] as const)("%o → %s", (f, want) => {
    expect(selectFilterChain(chains, facts(f as Partial<ConnFacts>))?.name).toBe(want);
  });
});

describe("inspectors", () => {
  it("parses SNI and ALPN from a real TLS ClientHello without a TLS stack on our side", async () => {
    const server = net.createServer();
    await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
    const got = new Promise<Buffer>((resolve) => server.once("connection", (s) => s.once("data", (d: Buffer) => (resolve(d), s.destroy()))));
    const c = tls.connect({ host: "127.0.0.1", port: (server.address() as net.AddressInfo).port, servername: "reviews.default.svc", ALPNProtocols: ["istio-peer-exchange", "h2"] });
    c.on("error", () => {});
    const hello = await got;
    server.close();
    expect(parseClientHello(hello)).toEqual({ kind: "tls", sni: "reviews.default.svc", alpn: ["istio-peer-exchange", "h2"] });
    expect(parseClientHello(hello.subarray(0, 3))).toEqual({ kind: "need_more" });
    expect(parseClientHello(Buffer.from("GET / HTTP/1.1\r\n"))).toEqual({ kind: "not_tls" });
  });

  it.each([
    ["GET / HTTP/1.1\r\nhost: x\r\n", { kind: "http", protocol: "http/1.1" }],
    ["POST /a HTTP/1.0\r\n", { kind: "http", protocol: "http/1.0" }],
    ["PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n", { kind: "http", protocol: "h2c" }],
    ["PRI * HTT", { kind: "need_more" }],
    ["GET /", { kind: "need_more" }],
    ["\x16\x03\x01", { kind: "not_http" }],
    ["SSH-2.0-OpenSSH\r\n", { kind: "not_http" }],
  ])("http_inspector %j", (input, want) => {
    expect(inspectHttp(Buffer.from(input, "latin1"))).toEqual(want);
  });
});
