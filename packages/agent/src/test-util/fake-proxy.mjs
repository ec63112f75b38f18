#!/usr/bin/env node
// A stand-in for weft-proxy/Envoy in agent tests, started by the agent's supervisor with
// Envoy's flags. It reads the bootstrap (-c), speaks ADS (SotW) to the xds-grpc pipe with
// @grpc/grpc-js, ACKs everything, serves a tiny admin API (/ready, /stats,
// /drain_listeners, /quitquitquit, /fake/state) and the 15021 listener that forwards
// /healthz/ready to the agent cluster, as the real bootstrap routes it. Events are
// appended to $FAKE_PROXY_LOG.
import { appendFileSync, readFileSync } from "node:fs";
import { createServer, request } from "node:http";
import { createServer as createTcpServer } from "node:net";
import * as grpc from "@grpc/grpc-js";
import { create, fromBinary, toBinary } from "@bufbuild/protobuf";
import { DiscoveryRequestSchema, DiscoveryResponseSchema } from "@weft/xds-api/gen/envoy/service/discovery/v3/discovery_pb";

const args = process.argv.slice(2);
const bootstrap = JSON.parse(readFileSync(args[args.indexOf("-c") + 1], "utf8"));
const log = (event, extra = {}) => process.env.FAKE_PROXY_LOG && appendFileSync(process.env.FAKE_PROXY_LOG, JSON.stringify({ t: Date.now(), pid: process.pid, event, ...extra }) + "\n");
log("start", { args });

const endpointOf = (name) => {
  const c = bootstrap.static_resources.clusters.find((x) => x.name === name);
  return c.load_assignment.endpoints[0].lb_endpoints[0].endpoint.address;
};
const state = { responses: 0, acked: {}, streamErrors: 0, drained: false, connections: 0 };

// ADS over the agent's XDS socket.
const xdsPath = endpointOf("xds-grpc").pipe.path;
const client = new grpc.Client(`unix://${xdsPath}`, grpc.credentials.createInsecure());
const call = client.makeBidiStreamRequest(
  "/envoy.service.discovery.v3.AggregatedDiscoveryService/StreamAggregatedResources",
  (m) => Buffer.from(toBinary(DiscoveryRequestSchema, create(DiscoveryRequestSchema, m))),
  (b) => fromBinary(DiscoveryResponseSchema, b),
);
call.on("data", (res) => {
  state.responses++;
  state.acked[res.typeUrl] = res.versionInfo;
  log("response", { typeUrl: res.typeUrl, version: res.versionInfo, resources: res.resources.length });
  call.write({ typeUrl: res.typeUrl, versionInfo: res.versionInfo, responseNonce: res.nonce });
  if (res.typeUrl.endsWith("Cluster") && !state.ldsRequested) {
    state.ldsRequested = true;
    call.write({ typeUrl: "type.googleapis.com/envoy.config.listener.v3.Listener" });
  }
});
call.on("error", (e) => {
  state.streamErrors++;
  log("stream-error", { message: e.message });
});
call.write({ node: { id: bootstrap.node.id, cluster: bootstrap.node.cluster }, typeUrl: "type.googleapis.com/envoy.config.cluster.v3.Cluster" });

// Traffic: a TCP echo listener whose connections count as active downstream connections.
if (process.env.FAKE_PROXY_TRAFFIC_PORT) {
  createTcpServer((s) => {
    state.connections++;
    s.on("close", () => state.connections--);
    s.on("error", () => {});
    s.pipe(s);
  }).listen(Number(process.env.FAKE_PROXY_TRAFFIC_PORT), "127.0.0.1");
}

const admin = bootstrap.admin.address.socket_address;
createServer((req, res) => {
  const url = new URL(req.url, "http://x");
  if (url.pathname === "/ready") {
    const live = Object.keys(state.acked).length >= 2;
    res.writeHead(live ? 200 : 503);
    return res.end(live ? "LIVE\n" : "PRE_INITIALIZING\n");
  }
  if (url.pathname === "/stats") return res.end(`server.total_connections: ${state.connections}\nlistener.admin.downstream_cx_active: 1\n`);
  if (url.pathname === "/drain_listeners" && req.method === "POST") {
    state.drained = true;
    log("drain", { query: url.search });
    return res.end("OK\n");
  }
  if (url.pathname === "/quitquitquit" && req.method === "POST") {
    log("quit");
    res.end("OK\n");
    return setTimeout(() => process.exit(0), 10);
  }
  if (url.pathname === "/stats/prometheus") return res.end(`# TYPE envoy_server_live gauge\nenvoy_server_live 1\n`);
  if (url.pathname === "/fake/state") return res.end(JSON.stringify(state));
  res.writeHead(404);
  res.end();
}).listen(admin.port_value, admin.address);

// The 15090 and 15021 listeners of the bootstrap.
for (const l of bootstrap.static_resources.listeners) {
  const hcm = l.filter_chains[0].filters[0].typed_config;
  const route = hcm.route_config.virtual_hosts[0].routes[0];
  const target = endpointOf(route.route.cluster).socket_address;
  createServer((req, res) => {
    if (!req.url.startsWith(route.match.prefix)) {
      res.writeHead(404);
      return res.end();
    }
    const up = request({ host: target.address, port: target.port_value, path: req.url, method: req.method }, (r) => {
      res.writeHead(r.statusCode, r.headers);
      r.pipe(res);
    });
    up.on("error", () => {
      res.writeHead(503);
      res.end("upstream connect error\n");
    });
    up.end();
  }).listen(l.address.socket_address.port_value, l.address.socket_address.address);
}

process.on("SIGTERM", () => {
  log("sigterm");
  process.exit(0);
});
