#!/usr/bin/env node
// The README's test command: lint, build and test every project through Nx,
// then the end-to-end scenarios (`nx e2e e2e`), then one closing line for the whole workspace ("N passed, N failed,
// N skipped") from each project's vitest JSON report, so a reader (or CI)
// sees the total without scrolling through every project's output.
import { spawnSync } from "node:child_process";
import { existsSync, readFileSync, readdirSync, rmSync } from "node:fs";
import { join } from "node:path";

const resultsDir = join(process.cwd(), ".test-results");
rmSync(resultsDir, { recursive: true, force: true });
const env = { ...process.env, NX_DAEMON: "false" };
const extra = process.argv.slice(2).filter((a) => a !== "--no-e2e");
const unit = spawnSync("npx", ["nx", "run-many", "-t", "lint", "build", "test", "--output-style=stream-without-prefixes", ...extra], { stdio: "inherit", env });
const e2e = process.argv.includes("--no-e2e") ? { status: 0 } : spawnSync("npx", ["nx", "e2e", "e2e", "--output-style=stream-without-prefixes"], { stdio: "inherit", env });
const status = unit.status !== 0 ? unit.status ?? 1 : e2e.status ?? 1;

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
process.exit(status);
