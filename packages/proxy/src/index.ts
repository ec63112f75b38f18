
// ---- data path -------------------------------------------------------------
export * from "./contracts.js";
export { createProxyRuntime, type WeftProxyRuntime, type ProxyRuntimeExtras } from "./runtime/create-proxy-runtime.js";
export { createHttpFilterRegistry, ROUTER_TYPE_URL, type HttpFilter, type HttpFilterFactory, type HttpFilterRegistry, type CompileContext } from "./http/http-filter.js";
export { createDefaultHttpFilters } from "./http/filters/default-filters.js";
export type { RequestContext } from "./http/request-context.js";
export type { LocalReply } from "./http/local-reply.js";
export { compileListener } from "./runtime/compile-listener.js";
export { compileCluster } from "./runtime/compile-cluster.js";
export { compileRouteConfig } from "./runtime/compile-route-config.js";
export { compileAssignment } from "./runtime/compile-endpoints.js";
export { originalDstUnavailableReason } from "./native/original-dst.js";
