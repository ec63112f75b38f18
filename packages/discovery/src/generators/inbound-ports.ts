// The proxy's inbound ports: the target ports of the services that select its
// workload (istiod's ServiceTargets), one entry per workload port.
import type { ProxyInfo } from "../contracts.js";
import { targetPortOf } from "../model/build-registry.js";
import type { Protocol } from "../model/protocol.js";
import type { MeshService, ServicePort } from "../model/types.js";
import type { MeshPushContext } from "../push-context/push-context.js";

export interface InboundPort {
  /** Port on the workload (the service's targetPort). */
  port: number;
  protocol: Protocol;
  services: MeshService[];
  /** The first selecting service and its port (for the decorator and vhost names). */
  service: MeshService;
  servicePort: ServicePort;
}

export function inboundPorts(push: MeshPushContext, proxy: ProxyInfo): InboundPort[] {
  const key = `inbound|${push.configKey(proxy)}`;
  const cached = push.cache.get(key) as InboundPort[] | undefined;
  if (cached) return cached;
  const podName = proxy.podName.split(".")[0];
  const workload = push.registry.workloads.find((w) => w.kind === "Pod" && w.namespace === proxy.namespace && w.name === podName);
  const byPort = new Map<number, InboundPort>();
  for (const svc of push.scope(proxy).inbound) {
    for (const sp of svc.ports) {
      if (sp.protocol === "UDP") continue;
      const port = targetPortOf(sp, workload);
      if (port === undefined) continue;
      const prev = byPort.get(port);
      if (prev) prev.services.push(svc);
      else byPort.set(port, { port, protocol: sp.protocol, services: [svc], service: svc, servicePort: sp });
    }
  }
  const list = [...byPort.values()].sort((a, b) => a.port - b.port);
  push.cache.set(key, list);
  return list;
}
