// Kubernetes service-account tokens, checked the way istiod does (security/pkg/server/ca/
// authenticate/kubeauth): a TokenReview with audience `istio-ca`; the identity is the
// reviewed user `system:serviceaccount:<ns>:<sa>`. Needs a reachable API server and
// permission to create tokenreviews; it is exercised here only against a fake API server.
import { readFileSync } from "node:fs";
import https from "node:https";
import type { Logger } from "pino";
import { AuthenticationError, bearerToken, type AuthenticatedCaller, type Authenticator } from "./authenticator.js";

export const ISTIO_CA_AUDIENCE = "istio-ca";
const SA_DIR = "/var/run/secrets/kubernetes.io/serviceaccount";

export interface KubernetesAuthenticatorOptions {
  /** API server base URL; default https://$KUBERNETES_SERVICE_HOST:$KUBERNETES_SERVICE_PORT. */
  apiServer?: string;
  /** CA bundle for the API server (default the in-cluster ca.crt). */
  caPem?: string;
  /** Discovery's own token for the TokenReview call (default the in-cluster token file, re-read per call). */
  token?: () => string;
  audiences?: string[];
  timeoutMs?: number;
  logger: Logger;
}

interface TokenReviewStatus {
  authenticated?: boolean;
  audiences?: string[];
  user?: { username?: string };
  error?: string;
}

function inClusterApiServer(): string {
  const host = process.env.KUBERNETES_SERVICE_HOST;
  const port = process.env.KUBERNETES_SERVICE_PORT ?? "443";
  if (!host) throw new Error("Kubernetes authenticator: KUBERNETES_SERVICE_HOST is not set; it needs a cluster (or pass apiServer)");
  return `https://${host.includes(":") ? `[${host}]` : host}:${port}`;
}

/** `system:serviceaccount:<ns>:<sa>` → identity, anything else undefined. */
export function serviceAccountOf(username: string | undefined): { namespace: string; serviceAccount: string } | undefined {
  const m = /^system:serviceaccount:([^:]+):([^:]+)$/.exec(username ?? "");
  return m ? { namespace: m[1]!, serviceAccount: m[2]! } : undefined;
}

export function createKubernetesAuthenticator(o: KubernetesAuthenticatorOptions): Authenticator {
  const base = new URL(o.apiServer ?? inClusterApiServer());
  const ca = o.caPem ?? readFileSync(`${SA_DIR}/ca.crt`, "utf8");
  const ownToken = o.token ?? (() => readFileSync(`${SA_DIR}/token`, "utf8").trim());
  const audiences = o.audiences ?? [ISTIO_CA_AUDIENCE];
  const timeoutMs = o.timeoutMs ?? 5000;

  const review = (token: string) =>
    new Promise<TokenReviewStatus>((resolve, reject) => {
      const body = JSON.stringify({ apiVersion: "authentication.k8s.io/v1", kind: "TokenReview", spec: { token, audiences } });
      const req = https.request(
        new URL("/apis/authentication.k8s.io/v1/tokenreviews", base),
        { method: "POST", ca, timeout: timeoutMs, headers: { "content-type": "application/json", authorization: `Bearer ${ownToken()}`, "content-length": Buffer.byteLength(body) } },
        (res) => {
          const chunks: Buffer[] = [];
          res.on("data", (c: Buffer) => chunks.push(c));
          res.on("end", () => {
            const text = Buffer.concat(chunks).toString("utf8");
            if (res.statusCode !== 201 && res.statusCode !== 200) return reject(new Error(`TokenReview: API server answered ${res.statusCode}: ${text.slice(0, 200)}`));
            try {
              resolve(((JSON.parse(text) as { status?: TokenReviewStatus }).status ?? {}) as TokenReviewStatus);
            } catch {
              reject(new Error("TokenReview: API server answered with invalid JSON"));
            }
          });
        },
      );
      req.on("timeout", () => req.destroy(new Error(`TokenReview: no answer from ${base.host} within ${timeoutMs} ms`)));
      req.on("error", reject);
      req.end(body);
    });

  return {
    name: "kubernetes",
    async authenticate(headers): Promise<AuthenticatedCaller> {
      const token = bearerToken(headers);
      const status = await review(token); // transport errors propagate: the service answers UNAVAILABLE
      if (!status.authenticated) throw new AuthenticationError("authentication failed", `TokenReview: not authenticated${status.error ? `: ${status.error}` : ""}`);
      // The API server echoes the audiences the token is valid for; it must include ours.
      if (!audiences.some((a) => status.audiences?.includes(a))) throw new AuthenticationError("authentication failed", `TokenReview: token audiences ${JSON.stringify(status.audiences ?? [])} do not include ${audiences.join(",")}`);
      const id = serviceAccountOf(status.user?.username);
      if (!id) throw new AuthenticationError("authentication failed", `TokenReview: ${status.user?.username ?? "no user"} is not a service account`);
      o.logger.debug({ ...id }, "service-account token reviewed");
      return { ...id, authenticator: "kubernetes" };
    },
  };
}
