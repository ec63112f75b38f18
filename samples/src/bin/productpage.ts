#!/usr/bin/env node
// Bookinfo productpage for the local mesh: listens on PORT (default 9080), calls details, reviews and ratings.
import { readMillis } from "../common/listen-config.js";
import { runServerMain } from "../common/main.js";
import { serviceBaseUrl } from "../common/service-url.js";
import { createUpstreamClient } from "../common/upstream-client.js";
import { createProductpageServer } from "../bookinfo/productpage-server.js";
import { createSessionCodec } from "../bookinfo/session.js";

await runServerMain({
  name: "productpage",
  defaultPort: 9080,
  build: ({ env, logger }) =>
    createProductpageServer({
      logger,
      client: createUpstreamClient(env),
      detailsUrl: serviceBaseUrl(env, "details"),
      reviewsUrl: serviceBaseUrl(env, "reviews"),
      ratingsUrl: serviceBaseUrl(env, "ratings"),
      sessions: createSessionCodec(env.SESSION_SECRET),
      upstreamTimeoutMs: readMillis(env, "UPSTREAM_TIMEOUT_MS", 3000),
    }),
});
