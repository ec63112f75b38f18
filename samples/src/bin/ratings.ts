#!/usr/bin/env node
// Bookinfo ratings for the local mesh: listens on PORT (default 9080); SERVICE_VERSION selects a faulty mode.
import { runServerMain } from "../common/main.js";
import { createRatingsServer } from "../bookinfo/ratings-server.js";

await runServerMain({
  name: "ratings",
  defaultPort: 9080,
  build: ({ env, logger }) => createRatingsServer({ logger, serviceVersion: env.SERVICE_VERSION }),
});
