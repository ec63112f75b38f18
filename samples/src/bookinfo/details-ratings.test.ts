import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { silentLogger } from "../common/logger.js";
import { request, startOnLoopback } from "../test-util/http-client.js";
import { createDetailsServer } from "./details-server.js";
import { createRatingsServer } from "./ratings-server.js";

describe("details", () => {
  let base: string;
  let stop: () => Promise<void>;
  beforeAll(async () => ({ url: base, stop } = await startOnLoopback(createDetailsServer({ logger: silentLogger() }))));
  afterAll(() => stop());

  it("GET /details/{id} returns the book", async () => {
    const res = await request(`${base}/details/0`);
    expect(res.status).toBe(200);
    expect(JSON.parse(res.body)).toEqual({
      id: 0,
      author: "William Shakespeare",
      year: 1595,
      type: "paperback",
      pages: 200,
      publisher: "PublisherA",
      language: "English",
      "ISBN-10": "1234567890",
      "ISBN-13": "123-1234567890",
    });
  });

  it("rejects a non-numeric id with 400", async () => {
    const res = await request(`${base}/details/abc`);
    expect(res.status).toBe(400);
    expect(JSON.parse(res.body)).toEqual({ error: "please provide numeric product id" });
  });

  it("GET /health", async () => {
    expect(JSON.parse((await request(`${base}/health`)).body)).toEqual({ status: "Details is healthy" });
  });
});

describe("ratings", () => {
  let base: string;
  let stop: () => Promise<void>;
  beforeAll(async () => ({ url: base, stop } = await startOnLoopback(createRatingsServer({ logger: silentLogger() }))));
  afterAll(() => stop());

  it("GET /ratings/{id} returns both reviewers' stars", async () => {
    const res = await request(`${base}/ratings/0`);
    expect(res.status).toBe(200);
    expect(res.body).toBe('{"id":0,"ratings":{"Reviewer1":5,"Reviewer2":4}}');
  });

  it("POST /ratings/{id} stores ratings for that id", async () => {
    const posted = await request(`${base}/ratings/7`, { method: "POST", headers: { "content-type": "application/json" }, body: '{"Reviewer1":1,"Reviewer2":2}' });
    expect(JSON.parse(posted.body)).toEqual({ id: 7, ratings: { Reviewer1: 1, Reviewer2: 2 } });
    expect(JSON.parse((await request(`${base}/ratings/7`)).body)).toEqual({ id: 7, ratings: { Reviewer1: 1, Reviewer2: 2 } });
    expect((await request(`${base}/ratings/7`, { method: "POST", body: "not json" })).status).toBe(400);
  });

  it("rejects a non-numeric id with 400", async () => {
    const res = await request(`${base}/ratings/x`);
    expect(res.status).toBe(400);
    expect(JSON.parse(res.body)).toEqual({ error: "please provide numeric product ID" });
  });

  it("GET /health", async () => {
    expect(JSON.parse((await request(`${base}/health`)).body)).toEqual({ status: "Ratings is healthy" });
  });

  it("SERVICE_VERSION=v-unavailable answers 503", async () => {
    const s = await startOnLoopback(createRatingsServer({ logger: silentLogger(), serviceVersion: "v-unavailable" }));
    try {
      expect((await request(`${s.url}/ratings/0`)).status).toBe(503);
    } finally {
      await s.stop();
    }
  });
});
