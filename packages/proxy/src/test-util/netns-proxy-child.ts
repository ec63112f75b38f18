// Runs inside a network namespace (spawned with `ip netns exec … node --import tsx`):
// three backends and a proxy whose virtualOutbound listener (use_original_dst)
// hands connections to the listener matching their original destination.
import * as http from "node:http";
import * as net from "node:net";
import { startRuntime, staticCluster, httpListener } from "./runtime-harness.js";
import { originalDstUnavailableReason } from "../native/original-dst.js";

async function backend(port: number, name: string): Promise<void> {
  const s = http.createServer((req, res) => res.end(`${name} host=${req.headers.host}`));
  await new Promise<void>((r) => s.listen(port, "127.0.0.1", r));
}

async function main(): Promise<void> {
  const why = originalDstUnavailableReason();
  if (why) {
    console.log(JSON.stringify({ error: `addon: ${why}` }));
    return;
  }
  await backend(18080, "backend-80");
  await backend(18081, "backend-81");
  // Reached through PassthroughCluster (ORIGINAL_DST) at its original destination 10.200.0.9:18082.
  const raw = net.createServer((s) => s.end(`passthrough to ${s.localAddress}:${s.localPort}\n`));
  await new Promise<void>((r) => raw.listen(18082, "0.0.0.0", r));
  const unbound = (l: Record<string, unknown>) => ({ ...l, bind_to_port: false });
  const h = await startRuntime({
    clusters: [
      staticCluster("be80", [18080]),
      staticCluster("be81", [18081]),
      { name: "PassthroughCluster", type: "ORIGINAL_DST", lb_policy: "CLUSTER_PROVIDED", connect_timeout: "1s" },
    ],
    listeners: [
      {
        name: "virtualOutbound",
        address: { socket_address: { address: "0.0.0.0", port_value: 15001 } },
        use_original_dst: true,
        filter_chains: [{ filters: [{ name: "tcp", typed_config: { "@type": "type.googleapis.com/envoy.extensions.filters.network.tcp_proxy.v3.TcpProxy", stat_prefix: "PassthroughCluster", cluster: "PassthroughCluster" } }] }],
      },
      unbound({ ...httpListener("10.200.0.1_80", [{ name: "v", domains: ["*"], routes: [{ match: { prefix: "/" }, route: { cluster: "be80" } }] }], {}, 80), address: { socket_address: { address: "10.200.0.1", port_value: 80 } } }),
      unbound({ ...httpListener("0.0.0.0_81", [{ name: "v", domains: ["*"], routes: [{ match: { prefix: "/" }, route: { cluster: "be81" } }] }], {}, 81), address: { socket_address: { address: "0.0.0.0", port_value: 81 } } }),
      unbound({ ...httpListener("0.0.0.0_80", [{ name: "v", domains: ["*"], routes: [{ match: { prefix: "/" }, direct_response: { status: 200, body: { inline_string: "wildcard-80" } } }] }], {}, 80), address: { socket_address: { address: "0.0.0.0", port_value: 80 } } }),
    ],
  });
  h.runtime.onInitialized(() => {});
  console.log(JSON.stringify({ ready: true }));
  process.on("SIGTERM", () => {
    void h.close().then(() => process.exit(0));
  });
}

main().catch((err: unknown) => {
  console.log(JSON.stringify({ error: String(err) }));
  process.exit(1);
});
