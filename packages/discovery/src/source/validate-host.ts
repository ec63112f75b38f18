// Host names as Istio accepts them: FQDNs, short names, and a wildcard only as
// the whole leftmost label (`*`, `*.example.com`). `ns/host` forms are checked
// by checkNamespacedHost (Gateway servers, Sidecar egress).
import type { FieldChecker } from "./field-checker.js";

const LABEL = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/i;

export function checkHost(c: FieldChecker, value: unknown, field: string): void {
  if (typeof value !== "string" || value === "") {
    c.fail(field, `host ${JSON.stringify(value)} must be a non-empty string`);
    return;
  }
  if (value === "*") return;
  const labels = value.split(".");
  labels.forEach((label, i) => {
    if (i === 0 && label === "*") return;
    if (!LABEL.test(label)) c.fail(field, `host ${JSON.stringify(value)} is not a valid DNS name (label ${JSON.stringify(label)}); a wildcard is only allowed as the leftmost label`);
  });
}

/** `namespace/host` with namespace `*`, `.`, `~` or a name (Gateway servers and Sidecar egress hosts). */
export function checkNamespacedHost(c: FieldChecker, value: unknown, field: string, requireNamespace: boolean): void {
  if (typeof value !== "string" || value === "") {
    c.fail(field, `host ${JSON.stringify(value)} must be a non-empty string`);
    return;
  }
  const parts = value.split("/");
  if (parts.length > 2) {
    c.fail(field, `host ${JSON.stringify(value)} must be <namespace>/<host>`);
    return;
  }
  if (parts.length === 1 && requireNamespace) {
    c.fail(field, `host ${JSON.stringify(value)} must be <namespace>/<host>, e.g. "./*" or "istio-system/*"`);
    return;
  }
  const [ns, host] = parts.length === 2 ? parts : ["*", parts[0]];
  if (ns !== "*" && ns !== "." && ns !== "~" && !/^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/.test(ns)) c.fail(field, `namespace ${JSON.stringify(ns)} in ${JSON.stringify(value)} is not valid`);
  checkHost(c, host, field);
}
