import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { request } from "../test-util/http-client.js";
import { startFakeSidecar } from "../test-util/fake-sidecar.js";
import { spawnApp, type RunningApp } from "../test-util/spawn-app.js";

// The whole of Bookinfo as real processes, wired the way the local mesh's
// explicit mode wires them: no upstream URLs configured, every app keeps its
// Kubernetes defaults (http://details:9080, …) and reaches them through
// HTTP_PROXY, here a fake sidecar that routes by service name and injects the
// faults of virtual-service-ratings-test-{delay,abort}.yaml.

let sidecar: Awaited<ReturnType<typeof startFakeSidecar>>;
const apps: Record<string, RunningApp> = {};
// Scaled from the original's 3 s so the delay case runs in seconds: productpage
// gives up on reviews after 2 × 1 s, reviews v2 would wait 10 s for ratings.
const PRODUCTPAGE_TIMEOUT_MS = 1000;

beforeAll(async () => {
  sidecar = await startFakeSidecar();
  const viaSidecar = { HTTP_PROXY: sidecar.url };
  const started = await Promise.all([
    spawnApp("details"),
    spawnApp("ratings"),
    spawnApp("reviews", ["--version", "v1"], viaSidecar),
    spawnApp("reviews", ["--version", "v2"], { ...viaSidecar, HOSTNAME: "reviews-v2-pod" }),
    spawnApp("reviews", ["--version", "v3"], viaSidecar),
    spawnApp("productpage", [], { ...viaSidecar, UPSTREAM_TIMEOUT_MS: String(PRODUCTPAGE_TIMEOUT_MS), SESSION_SECRET: "test" }),
  ]);
  [apps.details, apps.ratings, apps.v1, apps.v2, apps.v3, apps.productpage] = started;
  sidecar.routes.set("details", apps.details!.url);
  sidecar.routes.set("ratings", apps.ratings!.url);
}, 90_000);

afterAll(async () => {
  const codes = await Promise.all(Object.values(apps).map((a) => a.stop()));
  await sidecar?.stop();
  // Every app exits 0 on SIGTERM, as the local mesh expects.
  expect(codes.every((c) => c === 0)).toBe(true);
});

beforeEach(() => {
  sidecar.setFault(() => undefined);
  sidecar.seen.clear();
});

const page = async (cookie?: string): Promise<string> => {
  const res = await request(`${apps.productpage!.url}/productpage`, { headers: cookie ? { cookie } : {} });
  expect(res.status).toBe(200);
  return res.body;
};

const signIn = async (user: string): Promise<string> => {
  const res = await request(`${apps.productpage!.url}/login`, {
    method: "POST",
    headers: { "content-type": "application/x-www-form-urlencoded" },
    body: `username=${user}&passwd=${user}`,
  });
  expect(res.status).toBe(302);
  return res.headers["set-cookie"]![0]!.split(";")[0]!;
};

describe("Bookinfo processes", () => {
  it("reviews v1: the page has the book, its details and reviews without stars", async () => {
    sidecar.routes.set("reviews", apps.v1!.url);
    const html = await page();
    expect(html).toContain("The Comedy of Errors");
    expect(html).toContain("Book Details");
    expect(html).toContain("Book Reviews");
    expect(html).toContain("An extremely entertaining play by Shakespeare.");
    expect(html).not.toContain("glyphicon-star");
    expect(sidecar.seen.get("ratings")).toBeUndefined();
  });

  it.each([
    ["v2", "black"],
    ["v3", "red"],
  ] as const)("reviews %s: %s stars", async (version, color) => {
    sidecar.routes.set("reviews", apps[version]!.url);
    const html = await page();
    expect(html).toContain(`<font color="${color}">`);
    expect(html.match(/class="glyphicon glyphicon-star"/g)).toHaveLength(9);
    expect(html.match(/class="glyphicon glyphicon-star-empty"/g)).toHaveLength(1);
    expect(sidecar.seen.get("ratings")).toHaveLength(1);
  });

  it("jason's session makes productpage send end-user: jason, and reviews carries it to ratings", async () => {
    sidecar.routes.set("reviews", apps.v2!.url);
    const cookie = await signIn("jason");
    const html = await page(cookie);
    expect(html).toContain("jason");
    const toReviews = sidecar.seen.get("reviews")!.at(-1)!;
    const toRatings = sidecar.seen.get("ratings")!.at(-1)!;
    expect(toReviews.url).toBe("http://reviews:9080/reviews/0");
    expect(toReviews.headers.host).toBe("reviews:9080");
    expect(toReviews.headers["end-user"]).toBe("jason");
    expect(toRatings.url).toBe("http://ratings:9080/ratings/0");
    expect(toRatings.headers["end-user"]).toBe("jason");
    expect(sidecar.seen.get("details")!.at(-1)!.headers["end-user"]).toBe("jason");
  });

  it("tracing headers reach reviews and ratings unchanged", async () => {
    sidecar.routes.set("reviews", apps.v3!.url);
    const trace = { "x-request-id": "7d1e0a6c-0000-4000-8000-000000000001", "x-b3-traceid": "80f198ee56343ba864fe8b2a57d3eff7", "x-b3-spanid": "e457b5a2e4d86bd1", "x-b3-sampled": "1" };
    await request(`${apps.productpage!.url}/productpage`, { headers: trace });
    expect(sidecar.seen.get("reviews")!.at(-1)!.headers).toMatchObject(trace);
    expect(sidecar.seen.get("ratings")!.at(-1)!.headers).toMatchObject(trace);
  });

  it("ratings abort for jason: reviews reports ratings unavailable, others are unaffected", async () => {
    sidecar.routes.set("reviews", apps.v2!.url);
    sidecar.setFault((req, service) => (service === "ratings" && req.headers["end-user"] === "jason" ? { abort: 500 } : undefined));
    const jason = await page(await signIn("jason"));
    expect(jason).toContain("<p><i>Ratings service is currently unavailable</i></p>");
    expect(jason).not.toContain("glyphicon-star");
    expect(await page()).toContain('<font color="black">');
  });

  it("ratings delay for jason longer than productpage's patience: the reviews error text, after two tries", async () => {
    sidecar.routes.set("reviews", apps.v2!.url);
    sidecar.setFault((req, service) => (service === "ratings" && req.headers["end-user"] === "jason" ? { delayMs: 2.5 * PRODUCTPAGE_TIMEOUT_MS } : undefined));
    const html = await page(await signIn("jason"));
    expect(html).toContain("Error fetching product reviews!");
    expect(html).toContain("Sorry, product reviews are currently unavailable for this book.");
    expect(html).toContain("Book Details");
    expect(sidecar.seen.get("reviews")).toHaveLength(2);
  });

  it("details down: the original's details error, reviews still shown", async () => {
    sidecar.routes.set("reviews", apps.v1!.url);
    sidecar.setFault((_req, service) => (service === "details" ? { abort: 503 } : undefined));
    const html = await page();
    expect(html).toContain("Error fetching product details!");
    expect(html).toContain("Sorry, product details are currently unavailable for this book.");
    expect(html).toContain("Book Reviews");
  });
});
