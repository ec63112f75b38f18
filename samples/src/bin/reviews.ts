#!/usr/bin/env node
// Bookinfo reviews for the local mesh: `reviews.js --version v1|v2|v3`, listens on PORT (default 9080).
import { hostname } from "node:os";
import { readMillis } from "../common/listen-config.js";
import { runServerMain } from "../common/main.js";
import { serviceBaseUrl } from "../common/service-url.js";
import { createUpstreamClient } from "../common/upstream-client.js";
import { createReviewsServer, reviewsFlavor } from "../bookinfo/reviews-server.js";

await runServerMain({
  name: "reviews",
  defaultPort: 9080,
  flags: ["version"],
  build: ({ flags, env, logger }) => {
    const flavor = reviewsFlavor(flags.version ?? env.SERVICE_VERSION ?? "v1", env);
    return createReviewsServer({
      ...flavor,
      ratingsTimeoutMs: readMillis(env, "RATINGS_TIMEOUT_MS", flavor.ratingsTimeoutMs),
      logger,
      client: createUpstreamClient(env),
      ratingsUrl: serviceBaseUrl(env, "ratings"),
      podName: env.HOSTNAME || env.POD_NAME || hostname(),
      clusterName: env.CLUSTER_NAME,
    });
  },
});
