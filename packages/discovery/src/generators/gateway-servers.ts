// The Gateway servers a router proxy serves, with the port it binds for each.
// istiod binds a server on the *target port* of the gateway Service port with
// the server's number (the stock ingress Service maps 80 → 8080, so port 80
// becomes listener 0.0.0.0_8080 and route config http.8080); when no Service
// selecting the gateway exposes that port, it binds the number as written.
import type { ProxyInfo } from "../contracts.js";
import { targetPortOf } from "../model/build-registry.js";
import { isObject } from "../source/field-checker.js";
import type { MeshPushContext } from "../push-context/push-context.js";

export interface GatewayServer {
  /** `namespace/name` of the Gateway. */
  gateway: string;
  /** The server's port number (what clients and VirtualServices see). */
  port: number;
  /** The port the proxy listens on. */
  bindPort: number;
  protocol: string;
  http: boolean;
  /** Server tls.mode (PASSTHROUGH, SIMPLE…), if any. */
  tlsMode?: string;
  hosts: Array<{ namespace: string; host: string }>;
}

export function gatewayServers(push: MeshPushContext, proxy: ProxyInfo): GatewayServer[] {
  const key = `gw-servers|${push.configKey(proxy)}`;
  const cached = push.cache.get(key) as GatewayServer[] | undefined;
  if (cached) return cached;
  const scope = push.scope(proxy);
  const podName = proxy.podName.split(".")[0];
  const workload = push.registry.workloads.find((w) => w.kind === "Pod" && w.namespace === proxy.namespace && w.name === podName);
  const out: GatewayServer[] = [];
  for (const gw of scope.gateways) {
    for (const s of Array.isArray(gw.spec.servers) ? gw.spec.servers : []) {
      if (!isObject(s) || !isObject(s.port)) continue;
      const port = s.port.number as number;
      const protocol = String(s.port.protocol ?? "HTTP").toUpperCase();
      let bindPort = port;
      for (const svc of scope.inbound) {
        const sp = svc.ports.find((p) => p.port === port);
        const target = sp ? targetPortOf(sp, workload) : undefined;
        if (target !== undefined) {
          bindPort = target;
          break;
        }
      }
      const hosts = (Array.isArray(s.hosts) ? s.hosts : []).filter((h): h is string => typeof h === "string").map((h) => {
        if (!h.includes("/")) return { namespace: "*", host: h };
        const [ns, host] = h.split("/", 2);
        return { namespace: ns === "." ? gw.namespace : ns, host };
      });
      const tlsMode = isObject(s.tls) && typeof s.tls.mode === "string" ? s.tls.mode : undefined;
      out.push({ gateway: `${gw.namespace}/${gw.name}`, port, bindPort, protocol, http: ["HTTP", "HTTP2", "GRPC", "GRPC-WEB"].includes(protocol), hosts, ...(tlsMode ? { tlsMode } : {}) });
    }
  }
  push.cache.set(key, out);
  return out;
}
