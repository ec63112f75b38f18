#!/usr/bin/env node
// Bookinfo details for the local mesh: listens on PORT (default 9080).
import { runServerMain } from "../common/main.js";
import { createDetailsServer } from "../bookinfo/details-server.js";

await runServerMain({ name: "details", defaultPort: 9080, build: ({ logger }) => createDetailsServer({ logger }) });
