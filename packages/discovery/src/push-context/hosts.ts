// Host names in Istio config: short names are qualified with the config's
// namespace (`reviews` in namespace default → reviews.default.svc.cluster.local),
// and a leading `*` is a wildcard over the remaining suffix.

export function qualifyHost(host: string, namespace: string, domain: string): string {
  if (host === "*" || host.startsWith("*.") || host.includes(".")) {
    // `reviews.default` → `reviews.default.svc.cluster.local` (Istio resolves 2-label names the same way).
    const parts = host.split(".");
    if (parts.length === 2 && !host.startsWith("*")) return `${host}.svc.${domain}`;
    return host;
  }
  return `${host}.${namespace}.svc.${domain}`;
}

/** True when `pattern` (possibly `*` / `*.suffix`) covers `host`. */
export function hostMatches(pattern: string, host: string): boolean {
  if (pattern === "*" || pattern === host) return true;
  if (pattern.startsWith("*")) {
    const suffix = pattern.slice(1);
    if (host.startsWith("*")) return host.slice(1).endsWith(suffix);
    return host.endsWith(suffix);
  }
  return false;
}

/** Whether two host patterns overlap (either covers the other). */
export function hostsIntersect(a: string, b: string): boolean {
  return hostMatches(a, b) || hostMatches(b, a);
}

/** Istio's exportTo: `*` everyone, `.` own namespace, `~` nobody, else namespace names. */
export function exportedTo(exportTo: readonly string[] | undefined, ownNamespace: string, toNamespace: string): boolean {
  if (!exportTo || exportTo.length === 0) return true;
  for (const e of exportTo) {
    if (e === "*") return true;
    if (e === "." && ownNamespace === toNamespace) return true;
    if (e === toNamespace) return true;
  }
  return false;
}
