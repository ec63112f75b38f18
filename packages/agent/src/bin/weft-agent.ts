#!/usr/bin/env node
import "./light-globals.js";
import { main } from "../cli/main.js";

main(process.argv.slice(2)).then(
  (code) => {
    // `proxy` keeps running until signalled; the others return when done.
    // Shutdown is complete when main returns: exit now rather than wait for idle keep-alive handles.
    if (code !== undefined) process.exit(code);
  },
  (err: unknown) => {
    process.stderr.write(`weft-agent: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
    process.exitCode = 1;
  },
);
