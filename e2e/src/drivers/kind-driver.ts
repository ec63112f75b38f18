import { execFileSync } from "node:child_process";
import type { MeshDriver } from "./driver.js";

function works(command: string, args: string[]): boolean {
  try {
    execFileSync(command, args, { stdio: "ignore", timeout: 10_000 });
    return true;
  } catch {
    return false;
  }
}

/**
 * The same scenarios on a real Kubernetes cluster in Docker (kind). Built by
 * the Kubernetes issue (`weftctl install`, the injector, images); until then
 * it reports itself unavailable with the reason, even where Docker exists.
 */
export function createKindDriver(): MeshDriver {
  const notYet = () => Promise.reject(new Error("the kind driver is not implemented yet"));
  return {
    name: "kind",
    async unavailable() {
      if (!works("docker", ["info"])) return "no Docker engine here (docker info fails): the kind driver needs Docker and kind";
      if (!works("kind", ["version"])) return "kind is not installed";
      return "the kind driver needs `weftctl install` and sidecar images, which the Kubernetes issue adds";
    },
    up: notYet,
    down: notYet,
    apply: notYet,
    delete: notYet,
    exec: notYet,
    podIp: notYet,
    logs: notYet,
    restart: notYet,
    processes: () => Promise.resolve([]),
    ingressUrl: () => "",
  };
}
