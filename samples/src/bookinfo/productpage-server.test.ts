import { afterEach, describe, expect, it } from "vitest";
import { silentLogger } from "../common/logger.js";
import { createUpstreamClient } from "../common/upstream-client.js";
import { request, startFakeUpstream, startOnLoopback } from "../test-util/http-client.js";
import { bookDetails } from "./catalog.js";
import { createProductpageServer } from "./productpage-server.js";
import { createSessionCodec } from "./session.js";

const stops: (() => Promise<void>)[] = [];
afterEach(async () => {
  await Promise.all(stops.splice(0).map((s) => s()));
});

const REVIEWS_V2 = {
  id: "0",
  podname: "reviews-v2-xyz",
  clustername: "null",
  reviews: [
    { reviewer: "Reviewer1", text: "An extremely entertaining play by Shakespeare. The slapstick humour is refreshing!", rating: { stars: 5, color: "black" } },
    { reviewer: "Reviewer2", text: "Absolutely fun", rating: { error: "Ratings service is currently unavailable" } },
  ],
};

type Reply = { status: number; body: unknown; delayMs?: number };

async function setup(replies: { details?: Reply; reviews?: Reply; ratings?: Reply } = {}, upstreamTimeoutMs?: number) {
  const details = await startFakeUpstream(() => replies.details ?? { status: 200, body: bookDetails(0) });
  const reviews = await startFakeUpstream(() => replies.reviews ?? { status: 200, body: REVIEWS_V2 });
  const ratings = await startFakeUpstream(() => replies.ratings ?? { status: 200, body: { id: 0, ratings: { Reviewer1: 5, Reviewer2: 4 } } });
  const page = await startOnLoopback(
    createProductpageServer({
      logger: silentLogger(),
      client: createUpstreamClient({}),
      detailsUrl: details.url,
      reviewsUrl: reviews.url,
      ratingsUrl: ratings.url,
      sessions: createSessionCodec("test-secret"),
      upstreamTimeoutMs,
    }),
  );
  stops.push(details.stop, reviews.stop, ratings.stop, page.stop);
  return { details, reviews, ratings, url: page.url };
}

describe("productpage", () => {
  it("renders the book, its details and the reviews with their stars", async () => {
    const { url } = await setup();
    const res = await request(`${url}/productpage`);
    expect(res.status).toBe(200);
    expect(res.headers["content-type"]).toBe("text/html; charset=utf-8");
    const html = res.body;
    expect(html).toContain("<title>Simple Bookstore App</title>");
    expect(html).toContain("The Comedy of Errors");
    expect(html).toContain('<h4 class="text-center text-primary">Book Details</h4>');
    expect(html).toContain("<dt>ISBN-10:</dt>1234567890");
    expect(html).toContain('<h4 class="text-center text-primary">Book Reviews</h4>');
    expect(html).toMatch(/<font color="black">\s*<!-- full stars: -->\s*(<span class="glyphicon glyphicon-star"><\/span>\s*){5}<!-- empty stars: -->\s*<\/font>/);
    expect(html).toContain("<p><i>Ratings service is currently unavailable</i></p>");
    expect(html).toContain("<u>reviews-v2-xyz</u>");
  });

  it("shows the original's error when details fails", async () => {
    const { url } = await setup({ details: { status: 503, body: "no healthy upstream" } });
    const html = (await request(`${url}/productpage`)).body;
    expect(html).toContain('<h4 class="text-center text-primary">Error fetching product details!</h4>');
    expect(html).toContain("<p>Sorry, product details are currently unavailable for this book.</p>");
    expect(html).toContain("Book Reviews");
  });

  it("tries reviews twice, each with the timeout, then shows the reviews error", async () => {
    const { url, reviews } = await setup({ reviews: { status: 200, body: REVIEWS_V2, delayMs: 1500 } }, 150);
    const t0 = Date.now();
    const html = (await request(`${url}/productpage`)).body;
    const took = Date.now() - t0;
    expect(reviews.seen).toHaveLength(2);
    expect(took).toBeGreaterThanOrEqual(290);
    expect(html).toContain('<h4 class="text-center text-primary">Error fetching product reviews!</h4>');
    expect(html).toContain("<p>Sorry, product reviews are currently unavailable for this book.</p>");
  });

  it("succeeds on the retry when the first reviews call fails", async () => {
    let n = 0;
    const reviews = await startFakeUpstream(() => (n++ === 0 ? { status: 503, body: "upstream connect error" } : { status: 200, body: REVIEWS_V2 }));
    const details = await startFakeUpstream(() => ({ status: 200, body: bookDetails(0) }));
    const page = await startOnLoopback(
      createProductpageServer({
        logger: silentLogger(),
        client: createUpstreamClient({}),
        detailsUrl: details.url,
        reviewsUrl: reviews.url,
        ratingsUrl: "http://127.0.0.1:1",
        sessions: createSessionCodec("s"),
      }),
    );
    stops.push(reviews.stop, details.stop, page.stop);
    expect((await request(`${page.url}/productpage`)).body).toContain("Book Reviews");
    expect(reviews.seen).toHaveLength(2);
  });

  it("signs in with a session cookie, sends end-user upstream, and signs out", async () => {
    const { url, details, reviews } = await setup();
    const login = await request(`${url}/login`, {
      method: "POST",
      headers: { "content-type": "application/x-www-form-urlencoded", referer: `${url}/productpage` },
      body: "username=jason&passwd=jason",
    });
    expect(login.status).toBe(302);
    expect(login.headers.location).toBe(`${url}/productpage`);
    const setCookie = login.headers["set-cookie"]![0]!;
    expect(setCookie).toMatch(/^session=[^;]+; Path=\/; HttpOnly/);
    const cookie = setCookie.split(";")[0]!;

    const page = await request(`${url}/productpage`, { headers: { cookie, "x-request-id": "r-1", "x-b3-traceid": "t-1", "x-b3-sampled": "1" } });
    expect(page.body).toContain("jason ( <a href=\"logout\">sign out</a> )");
    for (const upstream of [details, reviews]) {
      expect(upstream.seen.at(-1)!.headers).toMatchObject({ "end-user": "jason", "x-request-id": "r-1", "x-b3-traceid": "t-1", "x-b3-sampled": "1", cookie });
    }

    const logout = await request(`${url}/logout`, { headers: { cookie } });
    expect(logout.status).toBe(302);
    expect(logout.headers.location).toBe("/productpage");
    expect(logout.headers["set-cookie"]![0]).toMatch(/^session=; .*Max-Age=0/);
  });

  it("ignores a forged session cookie", async () => {
    const { url, reviews } = await setup();
    const forged = `session=${Buffer.from('{"user":"jason"}').toString("base64url")}.AAAA`;
    const page = await request(`${url}/productpage`, { headers: { cookie: forged } });
    expect(page.body).toContain("Sign in");
    expect(reviews.seen[0]!.headers["end-user"]).toBeUndefined();
  });

  it("serves the JSON API with the upstreams' statuses", async () => {
    const { url, ratings } = await setup({ ratings: { status: 500, body: "fault filter abort" } });
    const products = await request(`${url}/api/v1/products`);
    expect(JSON.parse(products.body)).toEqual([expect.objectContaining({ id: 0, title: "The Comedy of Errors" })]);
    expect(JSON.parse((await request(`${url}/api/v1/products/0`)).body)).toMatchObject({ id: 0, "ISBN-13": "123-1234567890" });
    expect(JSON.parse((await request(`${url}/api/v1/products/0/reviews`)).body)).toMatchObject({ podname: "reviews-v2-xyz" });
    const r = await request(`${url}/api/v1/products/0/ratings`);
    expect(r.status).toBe(500);
    expect(JSON.parse(r.body)).toEqual({ error: "Sorry, product ratings are currently unavailable for this book." });
    expect(ratings.seen[0]!.url).toBe("/ratings/0");
  });

  it("serves /health, the index, the stylesheet and /metrics", async () => {
    const { url } = await setup();
    expect((await request(`${url}/health`)).body).toBe("Product page is healthy");
    expect((await request(`${url}/`)).body).toContain("/productpage?u=normal");
    expect((await request(`${url}/static/bookinfo.css`)).body).toContain("glyphicon-star");
    expect((await request(`${url}/metrics`)).body).toMatch(/productpage_requests_total\{path="\/health"\} 1/);
    expect((await request(`${url}/missing`)).status).toBe(404);
  });
});
