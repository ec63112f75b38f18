import { rmSync } from "node:fs";
import { removeNetwork } from "./network.js";
import { stopAll } from "./processes.js";
import type { Progress } from "./progress.js";
import { defaultStateDir, readState, writeState } from "./state.js";

/** Stops every process of the local mesh and removes its namespaces, bridge and rules. Safe to run twice. */
export async function localDown(progress: Progress, stateDir = defaultStateDir()): Promise<boolean> {
  const state = readState(stateDir);
  if (!state) return false;
  progress.step(`stopping ${state.processes.length} processes`);
  // Apps first, then sidecars (so they can drain), the gateway and discovery last.
  const order = ["app", "sidecar", "gateway", "discovery"] as const;
  for (const role of order) await stopAll(state.processes.filter((p) => p.role === role), role === "sidecar" ? 6000 : 3000);
  state.processes = [];
  writeState(state);
  if (state.plan.mode === "transparent") {
    progress.step("removing network namespaces, veths, the bridge and rules");
    removeNetwork(state.plan);
  }
  rmSync(stateDir, { recursive: true, force: true });
  return true;
}
