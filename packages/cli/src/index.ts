// @weft/cli: weftctl's commands as functions, for tests and tools.
export { main } from "./cli/main.js";
export { buildPlan, parseLocalCommand, LOCAL_COMMAND_ANNOTATION, type LocalPlan, type LocalPod, type LocalService, type NetworkMode } from "./local/plan.js";
export { loadManifests, type Manifest } from "./local/manifests.js";
export { hostsFile } from "./local/network.js";
export { localUp, readiness, type UpOptions } from "./local/up.js";
export { localDown } from "./local/down.js";
export { localStatus, formatTable } from "./local/status.js";
export { readState, defaultStateDir, type LocalState } from "./local/state.js";
export { LocalError } from "./local/errors.js";
