#!/usr/bin/env node
// sleep for the local mesh: a process that stays up until SIGTERM.
import { createLogger } from "../common/logger.js";
import { runSleep } from "../sleep/sleep-main.js";

runSleep(createLogger("sleep"));
