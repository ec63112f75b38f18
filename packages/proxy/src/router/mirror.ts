// RouteAction.request_mirror_policies: a fire-and-forget copy of the request
// to another cluster, with `-shadow` appended to the host (before any port),
// sent once the whole request body has arrived. Nothing about the copy (its
// status, errors, slowness) reaches the main response; its outcome shows only
// in the mirror cluster's stats.
import { Readable } from "node:stream";
import type { Headers, RequestContext } from "../http/request-context.js";
import type { Cluster } from "../upstream/cluster.js";
import type { ReplayBody } from "./replay-body.js";

export interface MirrorPolicySpec {
  cluster?: string;
  /** cluster_header: the mirror cluster is named by this request header. */
  clusterHeader?: string;
  /** runtime_fraction.default_value as a probability (1 when unset). */
  fraction: number;
  disableShadowHostSuffixAppend: boolean;
}

export interface MirrorDeps {
  cluster(name: string): Cluster | undefined;
  random: () => number;
}

/** `foo:8080` → `foo-shadow:8080`, `[::1]:80` → `[::1]-shadow:80` (Envoy keeps the port after the suffix). */
export function shadowHost(authority: string): string {
  const m = /^(.*?)(:\d+)?$/.exec(authority);
  return m ? `${m[1]}-shadow${m[2] ?? ""}` : `${authority}-shadow`;
}

export function startMirrors(
  policies: readonly MirrorPolicySpec[],
  ctx: RequestContext,
  req: { method: string; path: string; authority: string; headers: Headers; timeoutMs: number },
  body: ReplayBody | null,
  deps: MirrorDeps,
): void {
  for (const p of policies) {
    if (p.fraction < 1 && deps.random() >= p.fraction) continue;
    const name = p.cluster ?? (p.clusterHeader ? first(ctx.headers[p.clusterHeader]) : undefined);
    const cluster = name ? deps.cluster(name) : undefined;
    if (!cluster || !cluster.warm) continue;
    const authority = p.disableShadowHostSuffixAppend ? req.authority : shadowHost(req.authority);
    const headers: Headers = { ...req.headers, host: authority };
    if (body) body.whenComplete((buf) => buf && send(cluster, req, authority, headers, buf));
    else send(cluster, req, authority, headers, null);
  }
}

function send(cluster: Cluster, req: { method: string; path: string; timeoutMs: number }, authority: string, headers: Headers, body: Buffer | null): void {
  const rm = cluster.resources("default");
  if (!rm.requests.canCreate()) {
    cluster.stats.rqPendingOverflow.inc();
    return;
  }
  const host = cluster.pickHost(undefined, undefined);
  if (!host) return;
  const protocol = cluster.config.protocol === "http2" ? "http2" : "http1";
  rm.requests.inc();
  cluster.stats.rqActive.inc();
  let done = false;
  const finish = (): void => {
    if (done) return;
    done = true;
    clearTimeout(timer);
    rm.requests.dec();
    cluster.stats.rqActive.dec();
  };
  const stream = cluster.pool(host, protocol).request(
    { method: req.method, path: req.path, authority, scheme: "http", headers, body: body ? Readable.from([body]) : null },
    {
      onHeaders(status) {
        const s = cluster.stats;
        s.rqTotal.inc();
        s.byCode(status).inc();
        if (status >= 500) s.rq5xx.inc();
        else if (status >= 400) s.rq4xx.inc();
        else if (status >= 300) s.rq3xx.inc();
        else if (status >= 200) s.rq2xx.inc();
      },
      onData: () => true,
      onEnd: finish,
      onError: finish,
    },
  );
  const timer = setTimeout(() => {
    if (done) return;
    cluster.stats.rqTimeout.inc();
    stream.abort();
    finish();
  }, req.timeoutMs > 0 ? req.timeoutMs : 15_000);
  timer.unref();
}

function first(v: string | string[] | undefined): string | undefined {
  return Array.isArray(v) ? v[0] : v;
}
