// A cluster's Envoy-named stats (cluster.<name>.upstream_rq_*, upstream_cx_*, membership_*), looked up
// once when the cluster is built so the request path only increments.
import type { Counter, Gauge, Histogram, StatsStore } from "../contracts.js";

export interface ClusterStats {
  rqTotal: Counter;
  rq2xx: Counter;
  rq3xx: Counter;
  rq4xx: Counter;
  rq5xx: Counter;
  rqTimeout: Counter;
  rqPerTryTimeout: Counter;
  rqPerTryIdleTimeout: Counter;
  rqRetry: Counter;
  rqRetryOverflow: Counter;
  rqRetrySuccess: Counter;
  rqRetryLimitExceeded: Counter;
  rqRetryBackoffExponential: Counter;
  rqPendingOverflow: Counter;
  rqPendingTotal: Counter;
  rqPendingActive: Gauge;
  cxOverflow: Counter;
  retryOrShadowAbandoned: Counter;
  rqActive: Gauge;
  cxTotal: Counter;
  cxActive: Gauge;
  cxConnectFail: Counter;
  cxNone: Counter;
  membershipHealthy: Gauge;
  membershipTotal: Gauge;
  rqTime: Histogram;
  /** upstream_rq_<code>, created on first use of a code. */
  byCode(code: number): Counter;
}

export function createClusterStats(store: StatsStore, name: string): ClusterStats {
  const p = `cluster.${name}.`;
  const codes = new Map<number, Counter>();
  return {
    rqTotal: store.counter(p + "upstream_rq_total"),
    rq2xx: store.counter(p + "upstream_rq_2xx"),
    rq3xx: store.counter(p + "upstream_rq_3xx"),
    rq4xx: store.counter(p + "upstream_rq_4xx"),
    rq5xx: store.counter(p + "upstream_rq_5xx"),
    rqTimeout: store.counter(p + "upstream_rq_timeout"),
    rqPerTryTimeout: store.counter(p + "upstream_rq_per_try_timeout"),
    rqPerTryIdleTimeout: store.counter(p + "upstream_rq_per_try_idle_timeout"),
    rqRetry: store.counter(p + "upstream_rq_retry"),
    rqRetryOverflow: store.counter(p + "upstream_rq_retry_overflow"),
    rqRetrySuccess: store.counter(p + "upstream_rq_retry_success"),
    rqRetryLimitExceeded: store.counter(p + "upstream_rq_retry_limit_exceeded"),
    rqRetryBackoffExponential: store.counter(p + "upstream_rq_retry_backoff_exponential"),
    rqPendingOverflow: store.counter(p + "upstream_rq_pending_overflow"),
    rqPendingTotal: store.counter(p + "upstream_rq_pending_total"),
    rqPendingActive: store.gauge(p + "upstream_rq_pending_active"),
    cxOverflow: store.counter(p + "upstream_cx_overflow"),
    retryOrShadowAbandoned: store.counter(p + "retry_or_shadow_abandoned"),
    rqActive: store.gauge(p + "upstream_rq_active"),
    cxTotal: store.counter(p + "upstream_cx_total"),
    cxActive: store.gauge(p + "upstream_cx_active"),
    cxConnectFail: store.counter(p + "upstream_cx_connect_fail"),
    cxNone: store.counter(p + "upstream_cx_none_healthy"),
    membershipHealthy: store.gauge(p + "membership_healthy"),
    membershipTotal: store.gauge(p + "membership_total"),
    rqTime: store.histogram(p + "upstream_rq_time", "milliseconds"),
    byCode(code) {
      let c = codes.get(code);
      if (!c) codes.set(code, (c = store.counter(p + "upstream_rq_" + code)));
      return c;
    },
  };
}
