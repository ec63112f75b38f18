import { pino, type DestinationStream, type Logger } from "pino";
import { ENVOY_LOG_LEVELS, pinoLevelOf, type EnvoyLogLevel } from "../cli/command-line-options.js";

/** Envoy's logger names, so /logging lists what Envoy users expect to set. */
export const ENVOY_COMPONENTS = [
  "admin", "config", "connection", "conn_handler", "filter", "forward_proxy", "grpc", "health_checker", "hc", "http", "http2",
  "init", "main", "misc", "pool", "rbac", "router", "runtime", "stats", "upstream", "file", "dns", "tracing",
] as const;

export interface LoggingControl {
  root: Logger;
  /** A component logger (`component` binding), following /logging changes. */
  component(name: string): Logger;
  setAll(level: EnvoyLogLevel): void;
  /** false when the component is unknown. */
  set(component: string, level: EnvoyLogLevel): boolean;
  list(): Array<{ component: string; level: EnvoyLogLevel }>;
}

const envoyLevelOf = (pinoLevel: string): EnvoyLogLevel =>
  pinoLevel === "warn" ? "warning" : pinoLevel === "fatal" ? "critical" : pinoLevel === "silent" ? "off" : (pinoLevel as EnvoyLogLevel);

/**
 * One pino root and a child per component. pino children don't follow their
 * parent's later level changes, so every child (including the ones the data
 * path makes with logger.child) is tracked via onChild and updated here.
 */
export function createLoggingControl(options: { level: EnvoyLogLevel; componentLevels?: Record<string, EnvoyLogLevel>; destination?: DestinationStream }): LoggingControl {
  const children = new Set<WeakRef<Logger>>();
  const componentLevels = new Map<string, EnvoyLogLevel>(ENVOY_COMPONENTS.map((c) => [c, options.level]));
  for (const [c, l] of Object.entries(options.componentLevels ?? {})) componentLevels.set(c, l);
  let defaultLevel = options.level;

  const track = (child: Logger) => {
    children.add(new WeakRef(child));
    const component = (child.bindings() as { component?: string }).component;
    if (component) {
      if (!componentLevels.has(component)) componentLevels.set(component, defaultLevel);
      child.level = pinoLevelOf(componentLevels.get(component)!);
    }
  };
  const root = pino(
    { level: pinoLevelOf(options.level), base: undefined, onChild: track, timestamp: pino.stdTimeFunctions.isoTime },
    options.destination ?? pino.destination({ fd: 2, sync: false }),
  );
  const components = new Map<string, Logger>();

  const apply = () => {
    for (const ref of children) {
      const child = ref.deref();
      if (!child) {
        children.delete(ref);
        continue;
      }
      const component = (child.bindings() as { component?: string }).component;
      child.level = pinoLevelOf(component ? (componentLevels.get(component) ?? defaultLevel) : defaultLevel);
    }
  };

  return {
    root,
    component(name) {
      let l = components.get(name);
      if (!l) components.set(name, (l = root.child({ component: name })));
      return l;
    },
    setAll(level) {
      defaultLevel = level;
      root.level = pinoLevelOf(level);
      for (const c of componentLevels.keys()) componentLevels.set(c, level);
      apply();
    },
    set(component, level) {
      if (!componentLevels.has(component)) return false;
      componentLevels.set(component, level);
      apply();
      return true;
    },
    list: () => [...componentLevels].sort((a, b) => (a[0] < b[0] ? -1 : 1)).map(([component, level]) => ({ component, level })),
  };
}

export const isEnvoyLogLevel = (v: string): v is EnvoyLogLevel => (ENVOY_LOG_LEVELS as readonly string[]).includes(v);
export { envoyLevelOf };
