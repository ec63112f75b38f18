// Istio's "Authorization for HTTP traffic" task, with its policies as the task
// writes them: allow-nothing for the namespace, then one ALLOW policy per
// Bookinfo workload, the backends' naming the caller's SPIFFE principal.
import { manifestFile } from "./manifest-file.js";

function policy(name: string, app?: string, principal?: string): string {
  const selector = app ? `  selector:\n    matchLabels:\n      app: ${app}\n  action: ALLOW\n` : "";
  const from = principal ? `  - from:\n    - source:\n        principals: ["cluster.local/ns/default/sa/${principal}"]\n    to:\n` : "  - to:\n";
  const rules = app ? `  rules:\n${from}    - operation:\n        methods: ["GET"]\n` : "  {}\n";
  return `apiVersion: security.istio.io/v1\nkind: AuthorizationPolicy\nmetadata:\n  name: ${name}\n  namespace: default\nspec:\n${selector}${rules}`;
}

export const allowNothing = (): Promise<string> => manifestFile("allow-nothing", policy("allow-nothing"));
export const productpageViewer = (): Promise<string> => manifestFile("productpage-viewer", policy("productpage-viewer", "productpage"));
export const detailsViewer = (): Promise<string> => manifestFile("details-viewer", policy("details-viewer", "details", "bookinfo-productpage"));
export const reviewsViewer = (): Promise<string> => manifestFile("reviews-viewer", policy("reviews-viewer", "reviews", "bookinfo-productpage"));
export const ratingsViewer = (): Promise<string> => manifestFile("ratings-viewer", policy("ratings-viewer", "ratings", "bookinfo-reviews"));

/**
 * Istio's "Authorization for TCP traffic" task's tcp-policy, in its three forms: ALLOW ports
 * 9000 and 9001; ALLOW GET on 9000 (an HTTP-only field on a TCP port: the rule can never
 * match, so nothing is allowed); DENY GET on 9000 (istiod makes that rule deny the port).
 */
export function tcpPolicy(form: "allow-ports" | "allow-get" | "deny-get"): Promise<string> {
  const action = form === "deny-get" ? "DENY" : "ALLOW";
  const to = form === "allow-ports" ? `    - operation:\n        ports: ["9000", "9001"]\n` : `    - operation:\n        methods: ["GET"]\n        ports: ["9000"]\n`;
  return manifestFile(
    `tcp-policy-${form}`,
    `apiVersion: security.istio.io/v1\nkind: AuthorizationPolicy\nmetadata:\n  name: tcp-policy\n  namespace: default\nspec:\n  selector:\n    matchLabels:\n      app: tcp-echo\n  action: ${action}\n  rules:\n  - to:\n${to}`,
  );
}
