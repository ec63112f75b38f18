import { execFileSync } from "node:child_process";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { MeshDriver } from "../drivers/driver.js";
import { SAMPLES } from "../drivers/weftctl.js";
import { eventually, get, stillRunning, login, starsOf } from "./http.js";
import { allowNothing, detailsViewer, productpageViewer, ratingsViewer, reviewsViewer, tcpPolicy } from "./authorization.js";
import { makeIssuer, requestAuthentication, requireJwt } from "./jwt.js";
import { manifestFile } from "./manifest-file.js";
import { reviewsTimeout, reviewsV2WithSlowRatings } from "./request-timeouts.js";
import { credentialSecret, curlHttps, makePki, secureGateway, SECURE_HOST } from "./secure-gateway.js";

const BOOKINFO = join(SAMPLES, "bookinfo");

/** A namespace-wide PeerAuthentication for `default` with this mTLS mode, written to a temp file for `apply`. */
function peerAuthentication(mode: "STRICT" | "PERMISSIVE"): Promise<string> {
  return manifestFile(`peer-authentication-${mode.toLowerCase()}`, `apiVersion: security.istio.io/v1\nkind: PeerAuthentication\nmetadata: {name: default, namespace: default}\nspec:\n  mtls: {mode: ${mode}}\n`);
}
const NET = join(BOOKINFO, "networking");

/**
 * Istio's "Enabling local rate limits" EnvoyFilter (the sidecar-inbound one, as the task writes
 * it: a TypedStruct inserted before the HCM's filters), for the workloads with `app: <app>`.
 */
function localRateLimit(app: string): Promise<string> {
  return manifestFile(
    `local-ratelimit-${app}`,
    `apiVersion: networking.istio.io/v1alpha3
kind: EnvoyFilter
metadata: {name: filter-local-ratelimit-svc, namespace: default}
spec:
  workloadSelector:
    labels: {app: ${app}}
  configPatches:
  - applyTo: HTTP_FILTER
    match:
      context: SIDECAR_INBOUND
      listener:
        filterChain:
          filter: {name: envoy.filters.network.http_connection_manager}
    patch:
      operation: INSERT_BEFORE
      value:
        name: envoy.filters.http.local_ratelimit
        typed_config:
          "@type": type.googleapis.com/udpa.type.v1.TypedStruct
          type_url: type.googleapis.com/envoy.extensions.filters.http.local_ratelimit.v3.LocalRateLimit
          value:
            stat_prefix: http_local_rate_limiter
            token_bucket: {max_tokens: 4, tokens_per_fill: 4, fill_interval: 60s}
            filter_enabled:
              runtime_key: local_rate_limit_enabled
              default_value: {numerator: 100, denominator: HUNDRED}
            filter_enforced:
              runtime_key: local_rate_limit_enforced
              default_value: {numerator: 100, denominator: HUNDRED}
            response_headers_to_add:
            - append_action: OVERWRITE_IF_EXISTS_OR_ADD
              header: {key: x-local-rate-limit, value: "true"}
`,
  );
}

function netnsNames(): string[] {
  return execFileSync("ip", ["netns", "list"], { encoding: "utf8" })
    .split("\n")
    .map((l) => l.split(" ")[0])
    .filter(Boolean);
}

/** JSON access-log lines of a sidecar's log (the proxy writes them to stdout, which is the istio-proxy log). */
function accessLogLines(log: string): Array<Record<string, unknown>> {
  return log
    .split("\n")
    .filter((l) => l.startsWith("{") && l.includes('"upstream_cluster"'))
    .map((l) => JSON.parse(l) as Record<string, unknown>);
}

/**
 * The scenario suite of issue 8, the same for every driver: what a newcomer
 * runs first (Istio's getting-started), checked end to end.
 */
export function meshScenarios(driver: MeshDriver, unavailable: string | undefined, ingressPort = 18080, ingressHttpsPort = 18443): void {
  const skipped = unavailable ? ` — skipped: ${unavailable}` : "";

  // Issue 8's newcomer experience, exactly: the default Bookinfo, `up`, then the page.
  describe.skipIf(unavailable !== undefined)(`a cold start on the ${driver.name} driver${skipped}`, () => {
    it("serves the first /productpage within 30 s of `up`", async () => {
      const started = Date.now();
      await driver.up({ files: [join(BOOKINFO, "platform/kube/bookinfo.yaml"), join(NET, "bookinfo-gateway.yaml")], ingressPort });
      await eventually("first /productpage", () => get(`${driver.ingressUrl()}/productpage`), (r) => r.status === 200, 30_000);
      const elapsed = Date.now() - started;
      await driver.down();
      expect(elapsed).toBeLessThan(30_000);
    }, 120_000);
  });

  describe.skipIf(unavailable !== undefined)(`the mesh on the ${driver.name} driver${skipped}`, () => {
    let ingress = "";
    let meshNamespaces: string[] = [];

    beforeAll(async () => {
      const before = netnsNames();
      await driver.up({
        files: [join(BOOKINFO, "platform/kube/bookinfo.yaml"), join(NET, "bookinfo-gateway.yaml"), join(NET, "destination-rule-all.yaml"), join(SAMPLES, "httpbin/httpbin.yaml"), join(SAMPLES, "httpbin/httpbin-gateway.yaml"), join(SAMPLES, "sleep/sleep.yaml"), join(SAMPLES, "tcp-echo/tcp-echo-services.yaml")],
        ingressPort,
        ingressHttpsPort,
      });
      ingress = driver.ingressUrl();
      meshNamespaces = netnsNames().filter((n) => !before.includes(n));
      await eventually("first /productpage", () => get(`${ingress}/productpage`), (r) => r.status === 200, 30_000);
    }, 180_000);

    afterAll(async () => {
      await driver.down().catch(() => undefined);
    }, 60_000);

    it("carries sleep → httpbin through both sidecars with Istio's request headers", async () => {
      const r = await driver.exec("sleep", ["curl", "-sS", "http://httpbin:8000/headers"]);
      expect(r.code, r.stderr).toBe(0);
      const headers = (JSON.parse(r.stdout) as { headers: Record<string, string> }).headers;
      for (const name of ["X-B3-Traceid", "X-B3-Spanid", "X-B3-Sampled", "X-Request-Id"]) expect(headers, name).toHaveProperty(name);
      expect(headers["X-Envoy-Attempt-Count"]).toBe("1");
      expect(headers["X-Forwarded-Proto"]).toBe("http");
      // mTLS between the sidecars by default: httpbin's sidecar names both identities, as in Istio's sample.
      expect(headers["X-Forwarded-Client-Cert"], "X-Forwarded-Client-Cert").toMatch(
        /^By=spiffe:\/\/cluster\.local\/ns\/default\/sa\/httpbin;Hash=[0-9a-f]{64};Subject="";URI=spiffe:\/\/cluster\.local\/ns\/default\/sa\/sleep$/,
      );
    });

    // Envoy cleans x-envoy-* control headers from requests that are not internal, and an app's request
    // to its sidecar is not (no use_remote_address, no X-Forwarded-For): the route's policy holds.
    it("ignores an app's x-envoy-retry-on / x-envoy-max-retries: a 503 is tried 3 times (Istio's default policy), not the 4 asked for", async () => {
      const attempts503 = async (): Promise<number> => {
        const text = (await driver.exec("httpbin", ["curl", "-sS", "http://127.0.0.1:15020/stats/prometheus"])).stdout;
        const lines = text.split("\n").filter((l) => l.startsWith('istio_requests_total{reporter="destination"') && l.includes('response_code="503"') && l.includes('source_workload="sleep"'));
        return lines.reduce((sum, l) => sum + Number(l.slice(l.lastIndexOf(" ") + 1)), 0);
      };
      const before = await attempts503();
      const r = await driver.exec("sleep", ["curl", "-sS", "-o", "/dev/null", "-w", "%{http_code}", "-H", "x-envoy-retry-on: 5xx", "-H", "x-envoy-max-retries: 3", "http://httpbin:8000/status/503"]);
      expect(r.stdout).toBe("503");
      // istio.stats counts each attempt on httpbin's side once it completes.
      await eventually("three attempts at httpbin", attempts503, (n) => n - before >= 3, 10_000);
      await new Promise((done) => setTimeout(done, 500));
      expect((await attempts503()) - before).toBe(3);
    });

    // Istio's "Circuit Breaking" task (h2load where the task uses fortio): one connection, one pending
    // request; three concurrent clients overflow the client sidecar's pool, which answers 503 UO itself.
    it("trips the circuit breaker of a DestinationRule's connectionPool: some 503s under 3 concurrent clients, counted as pending overflow", async () => {
      const dr = await manifestFile(
        "httpbin-circuit-breaker",
        `apiVersion: networking.istio.io/v1
kind: DestinationRule
metadata: {name: httpbin, namespace: default}
spec:
  host: httpbin
  trafficPolicy:
    connectionPool:
      tcp: {maxConnections: 1}
      http: {http1MaxPendingRequests: 1, maxRequestsPerConnection: 1}
    outlierDetection: {consecutive5xxErrors: 1, interval: 1s, baseEjectionTime: 3m, maxEjectionPercent: 100}
`,
      );
      const overflows = async (): Promise<number> => {
        const stats = (await driver.exec("sleep", ["curl", "-sS", "http://127.0.0.1:15000/stats"])).stdout;
        const line = stats.split("\n").find((l) => l.startsWith("cluster.outbound|8000||httpbin.default.svc.cluster.local.upstream_rq_pending_overflow:"));
        return Number(line?.split(": ")[1] ?? 0);
      };
      try {
        await driver.apply([dr]);
        const codes = await eventually(
          "503s under three concurrent clients",
          async () => {
            const r = await driver.exec("sleep", ["h2load", "--h1", "-n", "60", "-c", "3", "http://httpbin:8000/get"]);
            const m = /status codes: (\d+) 2xx, \d+ 3xx, \d+ 4xx, (\d+) 5xx/.exec(r.stdout);
            return m ? { ok: Number(m[1]), failed: Number(m[2]) } : { ok: 0, failed: 0 };
          },
          (c) => c.failed > 0 && c.ok > 0 && c.ok + c.failed === 60,
          30_000,
        );
        expect(codes.ok).toBeGreaterThan(0);
        expect(await overflows()).toBeGreaterThan(0);
        // One client at a time stays under the limits.
        const one = await driver.exec("sleep", ["h2load", "--h1", "-n", "20", "-c", "1", "http://httpbin:8000/get"]);
        expect(one.stdout).toMatch(/status codes: 20 2xx, 0 3xx, 0 4xx, 0 5xx/);
      } finally {
        await driver.delete([dr]);
      }
    }, 60_000);

    it("refuses a plaintext client under STRICT PeerAuthentication and accepts it under PERMISSIVE", async () => {
      const httpbin = await driver.podIp("httpbin");
      // From sleep's sidecar container (uid 1337), which capture lets out unproxied: a plaintext client of httpbin's pod.
      const plaintext = () => driver.exec("sleep", ["curl", "-sS", "-m", "5", "-o", "/dev/null", "-w", "%{http_code}", `http://${httpbin}:80/get`], "istio-proxy");
      const viaSidecar = () => driver.exec("sleep", ["curl", "-sS", "-m", "5", "-o", "/dev/null", "-w", "%{http_code}", "http://httpbin:8000/get"]);
      const refused = (r: { code: number; stdout: string }) => r.code !== 0 && r.stdout.replace(/^000$/, "") === "";
      expect((await plaintext()).stdout, "plaintext is accepted by default (PERMISSIVE)").toBe("200");

      await driver.apply([await peerAuthentication("STRICT")]);
      const strict = await eventually("STRICT refusing plaintext", plaintext, refused, 30_000);
      expect(strict.code).not.toBe(0);
      expect((await viaSidecar()).stdout, "mTLS through the sidecars still works under STRICT").toBe("200");

      await driver.apply([await peerAuthentication("PERMISSIVE")]);
      await eventually("PERMISSIVE accepting plaintext", plaintext, (r) => r.stdout === "200", 30_000);
      expect((await viaSidecar()).stdout).toBe("200");
    }, 120_000);

    it("logs that request in JSON on both sidecars, as Istio's access log", async () => {
      const r = await driver.exec("sleep", ["curl", "-sS", "-H", "x-request-id: e2e-access-log-1", "http://httpbin:8000/get"]);
      expect(r.code, r.stderr).toBe(0);
      const client = await eventually("client-side log line", async () => accessLogLines(await driver.logs("sleep", "istio-proxy")).find((l) => l.request_id === "e2e-access-log-1"), Boolean);
      expect(client).toMatchObject({ upstream_cluster: "outbound|8000||httpbin.default.svc.cluster.local", response_code: 200, response_flags: "-", method: "GET", path: "/get", authority: "httpbin:8000", protocol: "HTTP/1.1" });
      expect(typeof client!.duration).toBe("number");
      const server = await eventually("server-side log line", async () => accessLogLines(await driver.logs("httpbin", "istio-proxy")).find((l) => l.request_id === "e2e-access-log-1"), Boolean);
      expect(server).toMatchObject({ upstream_cluster: "inbound|80||", response_code: 200, response_flags: "-" });
    });

    // Istio's Mirroring task, with details standing in for httpbin-v2: each request to httpbin is also
    // sent, fire and forget, to the mirror with "-shadow" on its host; the caller sees httpbin's answer.
    it("mirrors requests with a VirtualService's `mirrors`: httpbin answers, details' sidecar receives the copy as httpbin-shadow", async () => {
      const vs = await manifestFile(
        "httpbin-mirror",
        `apiVersion: networking.istio.io/v1
kind: VirtualService
metadata: {name: httpbin-mirror, namespace: default}
spec:
  hosts: [httpbin]
  http:
  - route:
    - destination: {host: httpbin, port: {number: 8000}}
    mirrors:
    - destination: {host: details, port: {number: 9080}}
`,
      );
      let n = 0;
      try {
        await driver.apply([vs]);
        const copy = await eventually(
          "the mirrored copy in details' access log",
          async () => {
            const id = `e2e-mirror-${++n}`;
            const r = await driver.exec("sleep", ["curl", "-sS", "-o", "/dev/null", "-w", "%{http_code}", "-H", `x-request-id: ${id}`, "http://httpbin:8000/headers"]);
            if (r.stdout !== "200") throw new Error(`httpbin answered ${r.stdout}: ${r.stderr}`);
            await new Promise((done) => setTimeout(done, 300));
            return accessLogLines(await driver.logs("details", "istio-proxy")).find((l) => l.request_id === id);
          },
          Boolean,
          30_000,
        );
        expect(copy).toMatchObject({ authority: "httpbin-shadow:8000", path: "/headers", method: "GET" });
      } finally {
        await driver.delete([vs]);
      }
    }, 60_000);

    it("exports Istio's standard metrics for sleep → httpbin on both sidecars' 15020, as Prometheus scrapes them", async () => {
      for (let i = 0; i < 3; i++) expect((await driver.exec("sleep", ["curl", "-sS", "-o", "/dev/null", "http://httpbin:8000/status/418"])).code).toBe(0);
      // Scraped from inside each pod, where Prometheus' annotations point: the agent merges the proxy's stats.
      const scrape = async (workload: string) => (await driver.exec(workload, ["curl", "-sS", "http://127.0.0.1:15020/stats/prometheus"])).stdout;
      const series = (text: string, labels: Record<string, string>) =>
        text.split("\n").find((l) => l.startsWith("istio_requests_total{") && Object.entries(labels).every(([k, v]) => l.includes(`${k}="${v}"`)));
      const both = {
        source_workload: "sleep",
        source_workload_namespace: "default",
        source_app: "sleep",
        destination_workload: "httpbin",
        destination_workload_namespace: "default",
        destination_app: "httpbin",
        destination_service: "httpbin.default.svc.cluster.local",
        destination_service_name: "httpbin",
        request_protocol: "http",
        response_code: "418",
      };
      const server = await eventually("httpbin's istio_requests_total", () => scrape("httpbin"), (t) => series(t, { reporter: "destination", ...both }) !== undefined, 15_000);
      expect(series(server, { reporter: "destination", ...both, source_principal: "spiffe://cluster.local/ns/default/sa/sleep", destination_principal: "spiffe://cluster.local/ns/default/sa/httpbin", connection_security_policy: "mutual_tls" })).toMatch(/ [3-9]\d*$/);
      const client = await eventually("sleep's istio_requests_total", () => scrape("sleep"), (t) => series(t, { reporter: "source", ...both }) !== undefined, 15_000);
      expect(series(client, { reporter: "source", ...both })).toMatch(/ [3-9]\d*$/);
      expect(client).toMatch(/^istio_request_duration_milliseconds_bucket\{reporter="source",.*le="\+Inf"\} \d+$/m);
    });

    it("rate-limits httpbin with Istio's local rate limit EnvoyFilter, and stops when it no longer selects httpbin", async () => {
      const status = () => driver.exec("sleep", ["curl", "-sS", "-o", "/dev/null", "-w", "%{http_code}", "http://httpbin:8000/get"]);
      await driver.apply([await localRateLimit("httpbin")]);
      // Once httpbin's sidecar has the filter, its bucket (4 per minute) runs out within a few requests.
      await eventually("a 429 from httpbin's sidecar", status, (r) => r.stdout === "429", 30_000);
      const limited = await driver.exec("sleep", ["curl", "-sS", "-D", "-", "http://httpbin:8000/get"]);
      expect(limited.stdout).toMatch(/^HTTP\/1\.1 429/);
      expect(limited.stdout.toLowerCase()).toContain("x-local-rate-limit: true");
      expect(limited.stdout).toContain("local_rate_limited");
      const stats = (await driver.exec("httpbin", ["curl", "-sS", "http://127.0.0.1:15000/stats?filter=http_local_rate_limit"], "istio-proxy")).stdout;
      expect(stats).toMatch(/http_local_rate_limiter\.http_local_rate_limit\.rate_limited: [1-9]/);
      // The same EnvoyFilter selecting no workload: httpbin's sidecar loses the filter.
      await driver.apply([await localRateLimit("nobody")]);
      await eventually("httpbin answers again", status, (r) => r.stdout === "200", 30_000);
    }, 90_000);

    it("serves Bookinfo through the ingress gateway", async () => {
      const page = await get(`${ingress}/productpage`);
      expect(page.status).toBe(200);
      for (const text of ["The Comedy of Errors", "Book Details", "Book Reviews"]) expect(page.body).toContain(text);
    });

    it("routes everything to v1 with virtual-service-all-v1: no stars", async () => {
      await driver.apply([join(NET, "virtual-service-all-v1.yaml")]);
      await eventually("only v1 reviews", async () => Promise.all(Array.from({ length: 6 }, () => get(`${ingress}/productpage`).then((r) => starsOf(r.body)))), (s) => s.every((x) => x === "none"));
    });

    it("sends jason to reviews v2 (black stars) and everyone else to v1", async () => {
      await driver.apply([join(NET, "virtual-service-reviews-test-v2.yaml")]);
      const jason = await login(ingress, "jason");
      await eventually("jason sees black stars", () => get(`${ingress}/productpage`, { cookie: jason }).then((r) => starsOf(r.body)), (s) => s === "black");
      expect(starsOf((await get(`${ingress}/productpage`)).body)).toBe("none");
    });

    // A fair 50/50 split over n loads gives a binomial count: sd = √n / 2. The bound is 4.5 sd (a correct
    // split fails it about once in 150 000 runs); with 200 loads it still fails any split worse than ≈ 66/34.
    // (It was 14–26 of 40 loads: a fair split lands 7 or more from 20, 2.2 sd, in ≈ 4 % of runs — CI saw it.)
    it("splits reviews 50/50 between v1 and v3 over 200 loads (within 4.5 standard deviations)", { timeout: 120_000 }, async () => {
      await driver.apply([join(NET, "virtual-service-reviews-50-v3.yaml")]);
      await eventually("v3 appears", () => get(`${ingress}/productpage`).then((r) => starsOf(r.body)), (s) => s === "red");
      const loads = 200;
      const seen = [];
      for (let i = 0; i < loads; i++) seen.push(starsOf((await get(`${ingress}/productpage`)).body));
      const red = seen.filter((s) => s === "red").length;
      expect(seen.every((s) => s === "red" || s === "none")).toBe(true);
      const bound = 4.5 * (Math.sqrt(loads) / 2);
      expect(Math.abs(red - loads / 2), `${red} of ${loads} loads went to v3`).toBeLessThanOrEqual(bound);
    });

    it("shows the reviews error to jason under the 7 s ratings delay", async () => {
      await driver.apply([join(NET, "virtual-service-reviews-test-v2.yaml"), join(NET, "virtual-service-ratings-test-delay.yaml")]);
      const jason = await login(ingress, "jason");
      await eventually("the delay fault shows", () => get(`${ingress}/productpage`, { cookie: jason, timeoutMs: 20_000 }).then((r) => r.body), (b) => b.includes("Sorry, product reviews are currently unavailable for this book."), 40_000);
    }, 60_000);

    it("shows ratings unavailable to jason under the ratings abort", async () => {
      await driver.apply([join(NET, "virtual-service-ratings-test-abort.yaml")]);
      const jason = await login(ingress, "jason");
      await eventually("the abort fault shows", () => get(`${ingress}/productpage`, { cookie: jason }).then((r) => starsOf(r.body)), (s) => s === "unavailable");
    }, 30_000);

    // Istio's "Request Timeouts" task. productpage tries reviews twice, so under the 0.5 s timeout the
    // page answers in about 1 s without reviews. An app cannot lift the timeout with
    // x-envoy-upstream-rq-timeout-ms: its sidecar strips the header (istio/istio#19550), and istiod
    // also sets the route's max_stream_duration to the same 0.5 s.
    it("times out reviews after 0.5 s under a 2 s ratings delay, and an app's x-envoy-upstream-rq-timeout-ms does not lift it", async () => {
      const timed = async (): Promise<{ ms: number; body: string }> => {
        const started = Date.now();
        const r = await get(`${ingress}/productpage`, { timeoutMs: 20_000 });
        return { ms: Date.now() - started, body: r.body };
      };
      await driver.apply([join(NET, "virtual-service-all-v1.yaml"), ...(await reviewsV2WithSlowRatings())]);
      const slow = await eventually("black stars after the 2 s ratings delay", timed, (r) => starsOf(r.body) === "black" && r.ms >= 1_900, 40_000);
      expect(slow.ms).toBeLessThan(6_000);
      await driver.apply([await reviewsTimeout()]);
      const fast = await eventually("reviews unavailable within the timeout", timed, (r) => r.body.includes("Sorry, product reviews are currently unavailable for this book."), 30_000);
      // Two tries of 0.5 s each: about a second, well short of the 2 s ratings delay.
      expect(fast.ms).toBeGreaterThanOrEqual(900);
      expect(fast.ms).toBeLessThan(1_900);
      const withHeader = await driver.exec("sleep", ["curl", "-s", "-o", "/dev/null", "-w", "%{http_code} %{time_total}", "-H", "x-envoy-upstream-rq-timeout-ms: 5000", "http://reviews:9080/reviews/0"]);
      expect(withHeader.code, withHeader.stderr).toBe(0);
      const [code, seconds] = withHeader.stdout.trim().split(" ");
      expect(code).toBe("504");
      expect(Number(seconds)).toBeLessThan(1.5);
      // Back to v1 everywhere: the later scenarios load the page many times a second.
      await driver.apply([join(NET, "virtual-service-all-v1.yaml")]);
      await eventually("the page is fast again", timed, (r) => starsOf(r.body) === "none" && r.ms < 1_000, 30_000);
    }, 150_000);

    // Istio's "Authorization for HTTP traffic" task: each backend admits only the caller's SPIFFE
    // principal (from the mTLS certificate the mesh CA issued to its service account).
    it("denies everything under allow-nothing, then opens Bookinfo workload by workload with ALLOW policies naming the caller's principal", async () => {
      const page = () => get(`${ingress}/productpage`);
      await driver.apply([join(NET, "virtual-service-reviews-v3.yaml")]);
      const policies = [await allowNothing(), await productpageViewer(), await detailsViewer(), await reviewsViewer(), await ratingsViewer()];
      try {
        await driver.apply([policies[0]]);
        const denied = await eventually("RBAC: access denied", page, (r) => r.status === 403, 30_000);
        expect(denied.body).toBe("RBAC: access denied");
        await driver.apply([policies[1]]);
        const bare = await eventually("the page, without details or reviews", page, (r) => r.status === 200 && r.body.includes("Error fetching product details!"), 30_000);
        expect(bare.body).toContain("Error fetching product reviews!");
        await driver.apply([policies[2], policies[3]]);
        const noRatings = await eventually("details and reviews, ratings still denied", page, (r) => r.body.includes("Book Details") && starsOf(r.body) === "unavailable", 30_000);
        expect(noRatings.body).not.toContain("Error fetching product");
        // The same GET from sleep carries sleep's principal, which details-viewer does not name.
        const fromSleep = await driver.exec("sleep", ["curl", "-s", "-o", "/dev/null", "-w", "%{http_code}", "http://details:9080/details/0"]);
        expect(fromSleep.stdout).toBe("403");
        await driver.apply([policies[4]]);
        await eventually("red stars once ratings admits reviews", page, (r) => starsOf(r.body) === "red", 30_000);
      } finally {
        await driver.delete(policies);
        await driver.apply([join(NET, "virtual-service-all-v1.yaml")]);
      }
      // The page alone cannot tell: productpage's own calls were allowed all along. sleep's can.
      await eventually("details open to sleep again", () => driver.exec("sleep", ["curl", "-s", "-o", "/dev/null", "-w", "%{http_code}", "http://details:9080/details/0"]), (r) => r.stdout === "200", 30_000);
      await eventually("the page open again", page, (r) => r.status === 200 && r.body.includes("Book Details") && starsOf(r.body) === "none", 30_000);
    }, 180_000);

    it("routes httpbin.example.com through the gateway to httpbin", async () => {
      const r = await eventually("httpbin via the gateway", () => get(`${ingress}/headers`, { host: "httpbin.example.com" }), (x) => x.status === 200);
      expect((JSON.parse(r.body) as { headers: Record<string, string> }).headers.Host).toBe("httpbin.example.com");
    });

    // Istio's JWT tasks at the ingress: a bad token is refused (401) while none passes to authorization;
    // then require-jwt admits only the issuer's tokens whose groups claim holds group1.
    it("authenticates end users at the ingress with a RequestAuthentication, and authorizes them by request principal and claim", async () => {
      const issuer = makeIssuer();
      const status = (authorization?: string) => get(`${ingress}/headers`, { host: "httpbin.example.com", headers: authorization ? { authorization } : {} }).then((r) => r.status);
      const good = `Bearer ${issuer.token({ groups: ["group1", "group2"] })}`;
      const policies = [await requestAuthentication(issuer), await requireJwt()];
      try {
        await driver.apply([policies[0]]);
        await eventually("a bad token refused", () => status("Bearer deadbeef"), (s) => s === 401, 30_000);
        expect(await status(good)).toBe(200);
        expect(await status()).toBe(200);
        const stranger = makeIssuer().token({ groups: ["group1"] });
        expect(await status(`Bearer ${stranger}`), "a token signed by another key").toBe(401);
        // An hour ago: Envoy allows 60 s of clock skew.
        expect(await status(`Bearer ${issuer.token({ exp: Math.floor(Date.now() / 1000) - 3600 })}`), "an expired token").toBe(401);
        await driver.apply([policies[1]]);
        await eventually("no token: denied", () => status(), (s) => s === 403, 30_000);
        expect(await status(good)).toBe(200);
        expect(await status(`Bearer ${issuer.token({ groups: ["group2"] })}`), "a token outside group1").toBe(403);
      } finally {
        await driver.delete(policies);
      }
      await eventually("open again", () => status(), (s) => s === 200, 30_000);
    }, 120_000);

    // Istio's "Secure Gateways" task: a credentialName Secret in the gateway's namespace, served
    // to the ingress over SDS by discovery; then the certificate rotated, then MUTUAL.
    it("terminates TLS for httpbin.example.com at the ingress with a credentialName Secret, rotates it, and requires client certificates under MUTUAL", async () => {
      const first = await makePki("example Inc.");
      await driver.apply([await credentialSecret(first), await secureGateway(first.dir, "SIMPLE")]);
      const teapot = await eventually("418 over HTTPS", () => curlHttps(ingressHttpsPort, "/status/418", { caCert: first.caCert }), (r) => r.status === "418", 30_000);
      expect(teapot.code, teapot.stderr).toBe(0);
      // Only routes of the bound VirtualService: /headers is not in it.
      expect((await curlHttps(ingressHttpsPort, "/headers", { caCert: first.caCert })).status).toBe("404");

      // Rotation: a new certificate from another CA replaces the Secret; the ingress serves it without a restart.
      const second = await makePki("example Inc. 2", SECURE_HOST, first.dir);
      await driver.apply([await credentialSecret(second)]);
      await eventually("the rotated certificate", () => curlHttps(ingressHttpsPort, "/status/418", { caCert: second.caCert }), (r) => r.status === "418", 30_000);
      const old = await curlHttps(ingressHttpsPort, "/status/418", { caCert: first.caCert });
      expect(old.code, "the old CA no longer verifies the ingress").not.toBe(0);

      // MUTUAL: the Secret gains ca.crt (the clients' CA); a client without a certificate is refused.
      const clients = await makePki("example Client Inc.", "client.example.com", first.dir);
      await driver.apply([await credentialSecret(second, clients), await secureGateway(first.dir, "MUTUAL")]);
      await eventually("a client certificate is required", () => curlHttps(ingressHttpsPort, "/status/418", { caCert: second.caCert }), (r) => r.code !== 0, 30_000);
      const withCert = await eventually("418 with a client certificate", () => curlHttps(ingressHttpsPort, "/status/418", { caCert: second.caCert, clientCert: clients }), (r) => r.status === "418", 30_000);
      expect(withCert.code, withCert.stderr).toBe(0);
      // A certificate from a CA the Secret does not name is refused too.
      const stranger = await makePki("stranger", "client.example.com", first.dir);
      expect((await curlHttps(ingressHttpsPort, "/status/418", { caCert: second.caCert, clientCert: stranger })).code).not.toBe(0);
    }, 150_000);

    // Istio's TCP traffic shifting task, from sleep inside the mesh (plain TCP: each line comes back
    // with the answering version's prefix, "one" or "two").
    it("shifts TCP connections between tcp-echo v1 and v2 by weight, as Istio's TCP traffic shifting task, and both sidecars' TCP metrics name both ends", async () => {
      const TCP_ECHO = join(SAMPLES, "tcp-echo");
      const connections = async (n: number): Promise<string[]> => {
        const script = `for i in $(seq ${n}); do exec 3<>/dev/tcp/tcp-echo/9000 || exit 1; echo world >&3; head -1 <&3; exec 3<&-; done`;
        const r = await driver.exec("sleep", ["bash", "-c", script]);
        expect(r.code, r.stderr).toBe(0);
        return r.stdout.trim().split("\n");
      };
      await driver.apply([join(TCP_ECHO, "tcp-echo-all-v1.yaml")]);
      await eventually("only v1 answers", () => connections(10), (lines) => lines.length === 10 && lines.every((l) => l === "one world"), 30_000);
      await driver.apply([join(TCP_ECHO, "tcp-echo-20-v2.yaml")]);
      await eventually("v2 answers too", () => connections(10), (lines) => lines.includes("two world"), 30_000);
      const loads = 200;
      const lines = await connections(loads);
      expect(lines.every((l) => l === "one world" || l === "two world"), lines.join(" | ")).toBe(true);
      const v2 = lines.filter((l) => l === "two world").length;
      // Binomial(200, 0.2): sd ≈ 5.7; 4.5 sd either side.
      expect(Math.abs(v2 - loads * 0.2), `${v2} of ${loads} connections went to v2`).toBeLessThanOrEqual(4.5 * Math.sqrt(loads * 0.2 * 0.8));

      // Istio's TCP metrics name both ends on both sidecars: the in-band metadata exchange
      // (ALPN istio-peer-exchange) over the mTLS hop tells tcp-echo's sidecar who sleep is.
      const scrape = async (workload: string) => (await driver.exec(workload, ["curl", "-sS", "http://127.0.0.1:15020/stats/prometheus"])).stdout;
      const opened = (text: string, labels: Record<string, string>) =>
        text.split("\n").find((l) => l.startsWith("istio_tcp_connections_opened_total{") && Object.entries(labels).every(([k, v]) => l.includes(`${k}="${v}"`)));
      const ends = { source_workload: "sleep", source_app: "sleep", destination_workload: "tcp-echo-v1", destination_app: "tcp-echo", destination_version: "v1", destination_service: "tcp-echo.default.svc.cluster.local", request_protocol: "tcp" };
      const server = await eventually("tcp-echo's istio_tcp_connections_opened_total", () => scrape("tcp-echo-v1"), (t) => opened(t, { reporter: "destination", ...ends }) !== undefined, 15_000);
      expect(opened(server, { reporter: "destination", ...ends, source_principal: "spiffe://cluster.local/ns/default/sa/sleep", connection_security_policy: "mutual_tls" })).toMatch(/ [1-9]\d*$/);
      const client = await eventually("sleep's istio_tcp_connections_opened_total", () => scrape("sleep"), (t) => opened(t, { reporter: "source", ...ends }) !== undefined, 15_000);
      expect(opened(client, { reporter: "source", ...ends })).toMatch(/ [1-9]\d*$/);
      expect(client).toMatch(/^istio_tcp_sent_bytes_total\{reporter="source",.*destination_app="tcp-echo".*\} [1-9]\d*$/m);
    }, 120_000);

    // Istio's "Authorization for TCP traffic" task; 9002 is no Service port, so it is reached on the pod IP.
    it("authorizes TCP by port, ignores an ALLOW rule's HTTP-only field (nothing allowed) and denies the port of a DENY rule with one", async () => {
      const podIp = await driver.podIp("tcp-echo-v1");
      const echo = async (host: string, port: number): Promise<string> => {
        const script = `exec 3<>/dev/tcp/${host}/${port} || exit 0; echo port ${port} >&3; timeout 3 head -1 <&3; exit 0`;
        return (await driver.exec("sleep", ["bash", "-c", script])).stdout.trim();
      };
      const ports = async () => [await echo("tcp-echo", 9000), await echo("tcp-echo", 9001), await echo(podIp, 9002)];
      const answered = (lines: string[]) => lines.map((l) => /^(one|two) port \d+$/.test(l));
      const TCP_ECHO = join(SAMPLES, "tcp-echo");
      const policies = [await tcpPolicy("allow-ports"), await tcpPolicy("allow-get"), await tcpPolicy("deny-get")];
      await driver.apply([join(TCP_ECHO, "tcp-echo-all-v1.yaml")]);
      expect(answered(await ports())).toEqual([true, true, true]);
      try {
        await driver.apply([policies[0]]);
        await eventually("9002 refused, 9000 and 9001 served", ports, (l) => JSON.stringify(answered(l)) === "[true,true,false]", 30_000);
        await driver.apply([policies[1]]);
        await eventually("nothing served", ports, (l) => JSON.stringify(answered(l)) === "[false,false,false]", 30_000);
        await driver.apply([policies[2]]);
        await eventually("9000 denied, the others served", ports, (l) => JSON.stringify(answered(l)) === "[false,true,true]", 30_000);
      } finally {
        await driver.delete([policies[2]]);
      }
      await eventually("all served again", ports, (l) => answered(l).every(Boolean), 30_000);
    }, 150_000);

    it("keeps serving while discovery restarts", async () => {
      let failures = 0;
      let served = 0;
      let stop = false;
      const traffic = (async () => {
        while (!stop) {
          const r = await get(`${ingress}/productpage`).catch(() => ({ status: 0 }));
          if (r.status === 200) served++;
          else failures++;
        }
      })();
      await new Promise((r) => setTimeout(r, 500));
      await driver.restart("discovery");
      await new Promise((r) => setTimeout(r, 3000));
      stop = true;
      await traffic;
      expect(served).toBeGreaterThan(10);
      expect(failures).toBe(0);
    }, 60_000);

    it("recovers within seconds after a workload restarts", async () => {
      await driver.restart("details");
      await eventually("details answers again", () => get(`${ingress}/productpage`).then((r) => r.body), (b) => b.includes("Book Details") && !b.includes("Error fetching product details"), 15_000);
    }, 30_000);

    it("leaves no namespace, rule or process behind after `down`", async () => {
      // Only what this mesh made: other tests' namespaces are not ours to judge.
      expect(meshNamespaces.length).toBeGreaterThan(5);
      const pids = await driver.processes();
      expect(pids.length).toBeGreaterThan(5);
      await driver.down();
      expect(netnsNames().filter((n) => meshNamespaces.includes(n))).toEqual([]);
      expect(execFileSync("ip", ["link", "show"], { encoding: "utf8" })).not.toMatch(/weft0/);
      expect(execFileSync("iptables-save", [], { encoding: "utf8" })).not.toMatch(/weft-local/);
      expect(stillRunning(pids)).toEqual([]);
    }, 60_000);
  });
}
