// In-process proxies for tests of Istio's standard metrics: a sidecar's node
// metadata in Istio's shape, a proxy started from an Envoy-JSON bootstrap as
// the binary starts it (admin included), and the samples of its
// /stats/prometheus.
import { Writable } from "node:stream";
import { parseCommandLine } from "../cli/parse-command-line.js";
import { startProxy, type RunningProxy } from "../app/start-proxy.js";
import { createProxyRuntime, type WeftProxyRuntime } from "../runtime/create-proxy-runtime.js";
import { poller } from "./until.js";

const until = poller({ timeoutMs: 10_000, stepMs: 25 });

/** A sidecar's node as pilot-agent writes it for workload `workload` of app `app` in namespace bookinfo. */
export function istioNode(workload: string, app: string, ip: string): Record<string, unknown> {
  return {
    id: `sidecar~${ip}~${workload}-5d8f.bookinfo~bookinfo.svc.cluster.local`,
    cluster: `${app}.bookinfo`,
    metadata: {
      NAME: `${workload}-5d8f`,
      NAMESPACE: "bookinfo",
      WORKLOAD_NAME: workload,
      CLUSTER_ID: "Kubernetes",
      LABELS: { app, version: "v1", "service.istio.io/canonical-name": app, "service.istio.io/canonical-revision": "v1" },
    },
  };
}

/** A cluster's istiod metadata naming its service (destination_service and _name). */
export const serviceMetadata = (name: string) => ({ filter_metadata: { istio: { services: [{ host: `${name}.bookinfo.svc.cluster.local`, name, namespace: "bookinfo" }] } } });

export interface IstioProxy {
  proxy: RunningProxy;
  admin: number;
  port(listener: string): number;
  stop(): Promise<void>;
}

const quiet = () => new Writable({ write: (_c, _e, cb) => cb() }) as never;

/** Starts a proxy from `bootstrap` with an admin on a free port, once all of `listeners` are bound. */
export async function startIstioProxy(bootstrap: Record<string, unknown>, listeners: string[]): Promise<IstioProxy> {
  const config = { admin: { address: { socket_address: { address: "127.0.0.1", port_value: 0 } } }, ...bootstrap };
  const proxy = await startProxy(parseCommandLine(["--config-yaml", JSON.stringify(config), "-l", "warning"]), { createRuntime: createProxyRuntime, logDestination: quiet() });
  const runtime = proxy.runtime as WeftProxyRuntime;
  await until(() => listeners.every((l) => (runtime.boundPort(l) ?? 0) > 0) && (proxy.adminPort() ?? 0) > 0, `${listeners.join(", ")} to bind`);
  return {
    proxy,
    admin: proxy.adminPort()!,
    port: (l) => runtime.boundPort(l)!,
    stop: async () => void (await proxy.stop()),
  };
}

export async function prometheus(admin: number): Promise<string> {
  return (await fetch(`http://127.0.0.1:${admin}/stats/prometheus`)).text();
}

/** The labels of a sample line, in order. */
export function labelsOf(line: string): Array<[string, string]> {
  const body = line.slice(line.indexOf("{") + 1, line.lastIndexOf("}"));
  return [...body.matchAll(/(\w+)="((?:[^"\\]|\\.)*)"/g)].map((m) => [m[1]!, m[2]!]);
}

/** The sample line of `metric` whose labels include all of `labels` (exact values), or undefined. */
export function sample(text: string, metric: string, labels: Record<string, string>): string | undefined {
  return text.split("\n").find((l) => {
    if (!l.startsWith(metric + "{")) return false;
    const have = new Map(labelsOf(l));
    return Object.entries(labels).every(([k, v]) => have.get(k) === v);
  });
}

/** The value of that sample, or undefined when there is none. */
export function sampleValue(text: string, metric: string, labels: Record<string, string>): number | undefined {
  const line = sample(text, metric, labels);
  return line === undefined ? undefined : Number(line.slice(line.lastIndexOf(" ") + 1));
}
