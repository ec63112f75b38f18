#!/usr/bin/env node
// httpbin for the local mesh: listens on PORT (default 80, the container port).
import { hostname } from "node:os";
import { runServerMain } from "../common/main.js";
import { createHttpbinServer } from "../httpbin/httpbin-server.js";

await runServerMain({
  name: "httpbin",
  defaultPort: 80,
  build: ({ env, logger }) => createHttpbinServer({ logger, hostname: env.HOSTNAME || hostname() }),
});
