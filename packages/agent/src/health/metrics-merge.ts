/** Where to scrape the application, from ISTIO_PROMETHEUS_ANNOTATIONS or the pod's prometheus.io annotations. */
export interface AppScrapeTarget {
  port: number;
  path: string;
}

/**
 * The injector moves the app's prometheus.io/{scrape,port,path} into ISTIO_PROMETHEUS_ANNOTATIONS
 * (JSON) and points the annotations at 15020; without that env var we read the annotations
 * themselves, unless they already point at the agent.
 */
export function appScrapeTarget(envJson: string | undefined, annotations: Record<string, string>, statusPort: number): AppScrapeTarget | undefined {
  let a: Record<string, string> = {};
  if (envJson?.trim()) {
    try {
      a = JSON.parse(envJson) as Record<string, string>;
    } catch {
      return undefined;
    }
  } else {
    a = { scrape: annotations["prometheus.io/scrape"], port: annotations["prometheus.io/port"], path: annotations["prometheus.io/path"] };
  }
  if (String(a.scrape) !== "true") return undefined;
  const port = Number(a.port);
  if (!Number.isInteger(port) || port <= 0 || port === statusPort) return undefined;
  return { port, path: a.path || "/metrics" };
}

/**
 * Joins Prometheus text expositions (proxy, app, agent) as Istio's merged scrape does: each
 * part as it is, newline-terminated. Families are named differently (envoy_*, istio_*,
 * istio_agent_*, the app's own), so plain concatenation stays a valid exposition.
 */
export function mergeExpositions(parts: string[]): string {
  return parts
    .filter((p) => p.trim() !== "")
    .map((p) => (p.endsWith("\n") ? p : `${p}\n`))
    .join("");
}

/** Renders the agent's own metrics. */
export function renderAgentMetrics(m: Record<string, { help: string; type: "gauge" | "counter"; value: number }>): string {
  return Object.entries(m)
    .map(([name, v]) => `# HELP ${name} ${v.help}\n# TYPE ${name} ${v.type}\n${name} ${v.value}\n`)
    .join("");
}
