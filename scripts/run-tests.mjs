#!/usr/bin/env node
// The README's test command: lint, build and test every project through Nx,
// then one closing line for the whole workspace ("N passed, N failed,
// N skipped") from each project's vitest JSON report, so a reader (or CI)
// sees the total without scrolling through every project's output.
import { spawnSync } from "node:child_process";
import { existsSync, readFileSync, readdirSync, rmSync } from "node:fs";
import { join } from "node:path";

const resultsDir = join(process.cwd(), ".test-results");
rmSync(resultsDir, { recursive: true, force: true });
const args = ["nx", "run-many", "-t", "lint", "build", "test", "--output-style=stream-without-prefixes", ...process.argv.slice(2)];
const run = spawnSync("npx", args, { stdio: "inherit", env: { ...process.env, NX_DAEMON: "false" } });

let passed = 0;
let failed = 0;
let skipped = 0;
const projects = [];
if (existsSync(resultsDir)) {
  for (const file of readdirSync(resultsDir).filter((f) => f.endsWith(".json")).sort()) {
    const report = JSON.parse(readFileSync(join(resultsDir, file), "utf8"));
    passed += report.numPassedTests ?? 0;
    failed += report.numFailedTests ?? 0;
    skipped += (report.numPendingTests ?? 0) + (report.numTodoTests ?? 0);
    projects.push(`${file.replace(/\.json$/, "")}: ${report.numPassedTests} passed, ${report.numFailedTests} failed, ${report.numPendingTests} skipped`);
  }
}
console.log("\n" + projects.join("\n"));
console.log(`${passed} passed, ${failed} failed, ${skipped} skipped`);
process.exit(run.status ?? 1);
