import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createLocalDriver } from "../drivers/local-driver.js";
import { meshScenarios } from "./mesh-scenarios.js";

const driver = createLocalDriver(mkdtempSync(join(tmpdir(), "weft-e2e-")));
meshScenarios(driver, await driver.unavailable());
