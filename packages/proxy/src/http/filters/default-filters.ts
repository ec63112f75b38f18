// The HTTP filters the data path implements today. The security issue
// registers rbac and jwt_authn into the same registry.
import { createHttpFilterRegistry, type HttpFilterRegistry } from "../http-filter.js";
import { corsFilterFactory } from "./cors-filter.js";
import { faultFilterFactory } from "./fault-filter.js";
import { telemetryNoopFilterFactory } from "./telemetry-filters.js";

export function createDefaultHttpFilters(): HttpFilterRegistry {
  return createHttpFilterRegistry([faultFilterFactory, corsFilterFactory, telemetryNoopFilterFactory]);
}
