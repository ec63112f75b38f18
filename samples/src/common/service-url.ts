import { SampleError } from "./sample-error.js";

/**
 * The base URL (`http://host:port`, no trailing slash) of an upstream Bookinfo
 * service. Defaults match Kubernetes (`http://details:9080`), so in the local
 * mesh's transparent mode, where service names resolve to VIPs inside each pod,
 * the apps need no configuration.
 *
 * Overrides, most specific first:
 * - `<NAME>_URL`, e.g. `DETAILS_URL=http://127.0.0.1:9081` (Weft's own variable);
 * - the originals' variables: `<NAME>_HOSTNAME`, `<NAME>_SERVICE_PORT` and
 *   `SERVICES_DOMAIN` (appended as `.<domain>`), as productpage.py and the reviews
 *   service read them. `<NAME>_SERVICE_PORT` is also what Kubernetes injects for a
 *   Service in the same namespace, so it normally agrees with the default.
 */
export function serviceBaseUrl(env: NodeJS.ProcessEnv, name: string, defaultPort = 9080): string {
  const key = name.toUpperCase().replace(/-/g, "_");
  const explicit = env[`${key}_URL`];
  if (explicit) {
    let url: URL;
    try {
      url = new URL(explicit);
    } catch {
      throw new SampleError(`${key}_URL must be an http URL such as http://${name}:${defaultPort}, got "${explicit}"`);
    }
    if (url.protocol !== "http:") throw new SampleError(`${key}_URL must use http:, got "${explicit}"`);
    return `${url.protocol}//${url.host}${url.pathname.replace(/\/+$/, "")}`;
  }
  const host = env[`${key}_HOSTNAME`] || name;
  const domain = env.SERVICES_DOMAIN ? `.${env.SERVICES_DOMAIN}` : "";
  const port = env[`${key}_SERVICE_PORT`] || String(defaultPort);
  if (!/^\d+$/.test(port)) throw new SampleError(`${key}_SERVICE_PORT must be a port number, got "${port}"`);
  return `http://${host}${domain}:${port}`;
}
