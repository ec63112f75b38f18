// Where a provider's keys come from: local_jwks (inline or a file, parsed
// once at compile time; bad keys → NACK) or remote_jwks fetched through one of
// the proxy's clusters (http_uri.cluster), cached for cache_duration (Envoy's
// default 10 minutes), one fetch in flight at a time; a failed fetch is not
// cached so the next request retries.
import { readFileSync } from "node:fs";
import type { JwtProvider } from "@weft/xds-api/gen/envoy/extensions/filters/http/jwt_authn/v3/config_pb.js";
import { ResourceRejectedError, type Counter } from "../../contracts.js";
import type { FilterRuntimeDeps } from "../../http/http-filter.js";
import { durationMs } from "../../runtime/duration.js";
import { callCluster } from "../cluster-call.js";
import { JwksError, parseJwks, type Jwk } from "./jwks.js";

export interface JwksSource {
  /** The keys, or undefined when they could not be fetched (→ "Jwks remote fetch is failed"). */
  keys(): Jwk[] | undefined | Promise<Jwk[] | undefined>;
}

export interface JwksFetchStats {
  success: Counter;
  failed: Counter;
}

export function compileJwksSource(
  p: JwtProvider,
  res: string,
  field: string,
  runtime: FilterRuntimeDeps | undefined,
  report: (f: string, d?: string) => void,
  stats?: JwksFetchStats,
): JwksSource {
  const src = p.jwksSourceSpecifier;
  if (src.case === "localJwks") {
    const ds = src.value.specifier;
    let text: string;
    if (ds.case === "inlineString") text = ds.value;
    else if (ds.case === "inlineBytes") text = Buffer.from(ds.value).toString("utf8");
    else if (ds.case === "filename") {
      try {
        text = readFileSync(ds.value, "utf8");
      } catch (err) {
        throw new ResourceRejectedError(res, `${field}.local_jwks.filename`, `cannot read ${ds.value}: ${(err as Error).message}`);
      }
    } else if (ds.case === "environmentVariable") {
      const v = process.env[ds.value];
      if (v === undefined) throw new ResourceRejectedError(res, `${field}.local_jwks.environment_variable`, `${ds.value} is not set`);
      text = v;
    } else throw new ResourceRejectedError(res, `${field}.local_jwks`, "a data source is required");
    let keys: Jwk[];
    try {
      keys = parseJwks(text);
    } catch (err) {
      throw new ResourceRejectedError(res, `${field}.local_jwks`, (err as JwksError).message);
    }
    return { keys: () => keys };
  }
  if (src.case !== "remoteJwks") throw new ResourceRejectedError(res, `${field}.jwks_source_specifier`, "local_jwks or remote_jwks is required");
  const r = src.value;
  const uri = r.httpUri;
  if (!uri || !uri.uri) throw new ResourceRejectedError(res, `${field}.remote_jwks.http_uri.uri`, "is required");
  if (uri.httpUpstreamType.case !== "cluster" || !uri.httpUpstreamType.value) throw new ResourceRejectedError(res, `${field}.remote_jwks.http_uri.cluster`, "is required");
  let url: URL;
  try {
    url = new URL(uri.uri);
  } catch {
    throw new ResourceRejectedError(res, `${field}.remote_jwks.http_uri.uri`, `${JSON.stringify(uri.uri)} is not a URL`);
  }
  if (r.retryPolicy) report("jwt_authn.remote_jwks.retry_policy", "not implemented; one attempt per fetch");
  const cluster = uri.httpUpstreamType.value;
  const timeoutMs = durationMs(uri.timeout, 1000);
  const cacheMs = durationMs(r.cacheDuration, 600_000);
  const log = runtime?.logger;
  let cached: { keys: Jwk[]; until: number } | undefined;
  let inflight: Promise<Jwk[] | undefined> | undefined;
  const fetchKeys = async (): Promise<Jwk[] | undefined> => {
    if (!runtime) return undefined;
    try {
      const resp = await callCluster(runtime.cluster(cluster), cluster, {
        method: "GET",
        path: url.pathname + url.search,
        authority: url.host,
        headers: { host: url.host, accept: "application/json" },
        timeoutMs,
        maxBodyBytes: 1024 * 1024,
      });
      if (resp.status !== 200) throw new JwksError(`status ${resp.status}`);
      const keys = parseJwks(resp.body.toString("utf8"));
      cached = { keys, until: Date.now() + cacheMs };
      stats?.success.inc();
      return keys;
    } catch (err) {
      stats?.failed.inc();
      log?.warn({ uri: uri.uri, cluster, err: (err as Error).message }, "jwt_authn: remote JWKS fetch failed");
      return undefined;
    } finally {
      inflight = undefined;
    }
  };
  const source: JwksSource = {
    keys() {
      if (cached && cached.until > Date.now()) return cached.keys;
      return (inflight ??= fetchKeys());
    },
  };
  // async_fetch: fetch when the listener is created instead of on the first request.
  if (r.asyncFetch && runtime) setImmediate(() => void source.keys());
  return source;
}
