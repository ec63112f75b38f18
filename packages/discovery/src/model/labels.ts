// Label selectors as Kubernetes and Istio use them: every key/value of the
// selector must be present in the labels (an empty selector matches all).

export type Labels = Readonly<Record<string, string>>;

export function matchLabels(selector: Labels | undefined, labels: Labels | undefined): boolean {
  if (!selector) return true;
  for (const [k, v] of Object.entries(selector)) {
    if (labels?.[k] !== v) return false;
  }
  return true;
}

/** A stable string for a label set (for config keys and cache keys). */
export function labelsKey(labels: Labels | undefined): string {
  if (!labels) return "";
  return Object.keys(labels)
    .sort()
    .map((k) => `${k}=${labels[k]}`)
    .join(",");
}
