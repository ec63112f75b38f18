// The HTTP filters the data path implements, by config type URL.
import { createHttpFilterRegistry, type HttpFilterRegistry } from "../http-filter.js";
import { corsFilterFactory } from "./cors-filter.js";
import { faultFilterFactory } from "./fault-filter.js";
import { telemetryFilterFactory } from "./telemetry-filters.js";
import { istioAlpnFilterFactory } from "./istio-alpn-filter.js";
import { rbacFilterFactory } from "./rbac-filter.js";
import { extAuthzFilterFactory } from "./ext-authz-filter.js";
import { jwtAuthnFilterFactory } from "./jwt-authn-filter.js";
import { createLocalRateLimitFilterFactory } from "./local-ratelimit-filter.js";
import { createRateLimiterCache, type RateLimiterCacheOptions } from "./local-ratelimit-buckets.js";

/** `rateLimits`: where local_ratelimit buckets live (default: this runtime's own). */
export function createDefaultHttpFilters(rateLimits: RateLimiterCacheOptions = {}): HttpFilterRegistry {
  return createHttpFilterRegistry([faultFilterFactory, corsFilterFactory, telemetryFilterFactory, istioAlpnFilterFactory, rbacFilterFactory, extAuthzFilterFactory, jwtAuthnFilterFactory, createLocalRateLimitFilterFactory(createRateLimiterCache(rateLimits))]);
}
