import { afterEach, describe, expect, it } from "vitest";
import { silentLogger } from "../common/logger.js";
import { createUpstreamClient } from "../common/upstream-client.js";
import { request, startFakeUpstream, startOnLoopback } from "../test-util/http-client.js";
import { createReviewsServer, reviewsFlavor } from "./reviews-server.js";

const stops: (() => Promise<void>)[] = [];
afterEach(async () => {
  await Promise.all(stops.splice(0).map((s) => s()));
});

async function startReviews(version: string, ratingsUrl: string, ratingsTimeoutMs?: number): Promise<string> {
  const flavor = reviewsFlavor(version);
  const s = await startOnLoopback(
    createReviewsServer({
      ...flavor,
      ratingsTimeoutMs: ratingsTimeoutMs ?? flavor.ratingsTimeoutMs,
      logger: silentLogger(),
      client: createUpstreamClient({}),
      ratingsUrl,
      podName: `reviews-${version}-abc`,
    }),
  );
  stops.push(s.stop);
  return s.url;
}

async function fakeRatings(status = 200, delayMs = 0) {
  const r = await startFakeUpstream(() => ({ status, delayMs, body: { id: 0, ratings: { Reviewer1: 5, Reviewer2: 4 } } }));
  stops.push(r.stop);
  return r;
}

describe("reviewsFlavor()", () => {
  it("has the originals' colours and ratings timeouts", () => {
    expect(reviewsFlavor("v1")).toEqual({ ratingsEnabled: false, starColor: "black", ratingsTimeoutMs: 10_000 });
    expect(reviewsFlavor("v2")).toEqual({ ratingsEnabled: true, starColor: "black", ratingsTimeoutMs: 10_000 });
    expect(reviewsFlavor("v3")).toEqual({ ratingsEnabled: true, starColor: "red", ratingsTimeoutMs: 2_500 });
  });

  it("lets ENABLE_RATINGS and STAR_COLOR override, as the image's env does", () => {
    expect(reviewsFlavor("v1", { ENABLE_RATINGS: "true", STAR_COLOR: "red" })).toEqual({ ratingsEnabled: true, starColor: "red", ratingsTimeoutMs: 2_500 });
  });

  it("names an unknown version", () => {
    expect(() => reviewsFlavor("v4")).toThrow('reviews version must be v1, v2 or v3, got "v4"');
  });
});

describe("reviews", () => {
  it("v1 returns the reviews without ratings and never calls ratings", async () => {
    const ratings = await fakeRatings();
    const res = await request(`${await startReviews("v1", ratings.url)}/reviews/0`);
    expect(res.status).toBe(200);
    expect(JSON.parse(res.body)).toEqual({
      id: "0",
      podname: "reviews-v1-abc",
      clustername: "null",
      reviews: [
        { reviewer: "Reviewer1", text: "An extremely entertaining play by Shakespeare. The slapstick humour is refreshing!" },
        { reviewer: "Reviewer2", text: "Absolutely fun and entertaining. The play lacks thematic depth when compared to other plays by Shakespeare." },
      ],
    });
    expect(ratings.seen).toHaveLength(0);
  });

  it.each([
    ["v2", "black"],
    ["v3", "red"],
  ])("%s adds %s stars from ratings", async (version, color) => {
    const ratings = await fakeRatings();
    const body = JSON.parse((await request(`${await startReviews(version, ratings.url)}/reviews/0`)).body) as { reviews: { rating: unknown }[] };
    expect(body.reviews.map((r) => r.rating)).toEqual([
      { stars: 5, color },
      { stars: 4, color },
    ]);
    expect(ratings.seen[0]!.url).toBe("/ratings/0");
  });

  it("forwards the tracing headers and end-user to ratings, not the cookie", async () => {
    const ratings = await fakeRatings();
    await request(`${await startReviews("v2", ratings.url)}/reviews/0`, {
      headers: {
        "x-request-id": "rid-1",
        "x-b3-traceid": "463ac35c9f6413ad48485a3953bb6124",
        "x-b3-spanid": "a2fb4a1d1a96d312",
        "x-b3-parentspanid": "0020000000000001",
        "x-b3-sampled": "1",
        "end-user": "jason",
        "user-agent": "curl/8",
        cookie: "session=secret",
      },
    });
    const h = ratings.seen[0]!.headers;
    expect(h).toMatchObject({
      "x-request-id": "rid-1",
      "x-b3-traceid": "463ac35c9f6413ad48485a3953bb6124",
      "x-b3-spanid": "a2fb4a1d1a96d312",
      "x-b3-parentspanid": "0020000000000001",
      "x-b3-sampled": "1",
      "end-user": "jason",
      "user-agent": "curl/8",
    });
    expect(h.cookie).toBeUndefined();
  });

  it("reports ratings unavailable when ratings fails", async () => {
    const ratings = await fakeRatings(500);
    const body = JSON.parse((await request(`${await startReviews("v3", ratings.url)}/reviews/0`)).body) as { reviews: { rating: unknown }[] };
    expect(body.reviews.map((r) => r.rating)).toEqual([
      { error: "Ratings service is currently unavailable" },
      { error: "Ratings service is currently unavailable" },
    ]);
  });

  it("reports ratings unavailable when ratings is slower than the timeout", async () => {
    const ratings = await fakeRatings(200, 2000);
    const res = await request(`${await startReviews("v2", ratings.url, 200)}/reviews/0`);
    expect(JSON.parse(res.body).reviews[0].rating).toEqual({ error: "Ratings service is currently unavailable" });
  });

  it("reports ratings unavailable when nothing listens", async () => {
    const ratings = await fakeRatings();
    await ratings.stop();
    const res = await request(`${await startReviews("v2", ratings.url)}/reviews/0`);
    expect(res.status).toBe(200);
    expect(JSON.parse(res.body).reviews[1].rating).toEqual({ error: "Ratings service is currently unavailable" });
  });

  it("404s a non-numeric id and serves /health", async () => {
    const url = await startReviews("v1", "http://127.0.0.1:1");
    expect((await request(`${url}/reviews/abc`)).status).toBe(404);
    expect(JSON.parse((await request(`${url}/health`)).body)).toEqual({ status: "Reviews is healthy" });
  });
});
