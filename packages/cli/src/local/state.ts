import { existsSync, mkdirSync, readFileSync, renameSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { LocalPlan } from "./plan.js";

export type ProcessRole = "discovery" | "gateway" | "sidecar" | "app";

export interface RunningProcess {
  role: ProcessRole;
  /** `namespace/pod` for sidecars and apps, the component name otherwise. */
  owner: string;
  pid: number;
  log: string;
  /** How it was started, so `local restart` starts it the same way. */
  spec: StartSpec;
}

export interface StartSpec {
  command: string;
  args: string[];
  env: Record<string, string>;
  cwd?: string;
  netns?: string;
  uid?: number;
}

export interface LocalState {
  version: 1;
  stateDir: string;
  configDir: string;
  startedAt: string;
  discovery: { grpcAddress: string; httpAddress: string; monitoringAddress: string };
  plan: Omit<LocalPlan, "rendered">;
  processes: RunningProcess[];
}

/** The local mesh's working directory: manifests discovery reads, logs, sockets, state.json. */
export function defaultStateDir(): string {
  return process.env.WEFT_LOCAL_DIR || join(tmpdir(), `weft-local-${process.getuid?.() ?? "user"}`);
}

export function statePath(stateDir: string): string {
  return join(stateDir, "state.json");
}

export function readState(stateDir = defaultStateDir()): LocalState | undefined {
  const path = statePath(stateDir);
  if (!existsSync(path)) return undefined;
  return JSON.parse(readFileSync(path, "utf8")) as LocalState;
}

export function writeState(state: LocalState): void {
  mkdirSync(state.stateDir, { recursive: true });
  const path = statePath(state.stateDir);
  writeFileSync(path + ".tmp", JSON.stringify(state, null, 2) + "\n");
  renameSync(path + ".tmp", path);
}
