import { createKindDriver } from "../drivers/kind-driver.js";
import { meshScenarios } from "./mesh-scenarios.js";

const driver = createKindDriver();
meshScenarios(driver, await driver.unavailable(), 18081);
