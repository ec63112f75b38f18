import { execFileSync } from "node:child_process";
import { LocalError } from "../local/errors.js";
import { findPod } from "../local/exec.js";
import { readState } from "../local/state.js";

// Runs inside the pod's network namespace: the admin API listens on the pod's loopback only.
const FETCH_SCRIPT = "fetch(process.argv[1]).then(async r=>{if(!r.ok){console.error(r.status+' '+await r.text());process.exit(1)}process.stdout.write(await r.text())}).catch(e=>{console.error(e.message);process.exit(1)})";

/** GETs a path from a proxy's admin API: an explicit URL, or a workload of the local mesh. */
export async function fetchAdmin(target: { admin?: string; workload?: string }, path: string): Promise<string> {
  if (target.admin) {
    const url = new URL(path, target.admin.endsWith("/") ? target.admin : target.admin + "/");
    const res = await fetch(url, { signal: AbortSignal.timeout(5000) }).catch((e: Error) => {
      throw new LocalError(`cannot reach the proxy admin at ${url}: ${e.message}`, "check --admin, or that the proxy is running");
    });
    if (!res.ok) throw new LocalError(`${url}: HTTP ${res.status}`);
    return res.text();
  }
  if (!target.workload) throw new LocalError("which proxy?", "give a workload name, --admin URL, or -f FILE");
  const state = readState();
  if (!state) throw new LocalError(`no local mesh is running, so ${target.workload} is unknown`, "start one with `weftctl local up`, or use --admin URL / -f FILE");
  if (target.workload.startsWith("istio-ingressgateway")) return fetchAdmin({ admin: "http://127.0.0.1:15000" }, path);
  const pod = findPod(state, target.workload);
  // Explicit mode: the sidecar's admin listens on the pod's own address.
  if (state.plan.mode === "explicit") return fetchAdmin({ admin: `http://${pod.ip}:15000` }, path);
  try {
    return execFileSync("ip", ["netns", "exec", pod.netns, process.execPath, "-e", FETCH_SCRIPT, `http://127.0.0.1:15000${path}`], { encoding: "utf8", maxBuffer: 64 << 20 });
  } catch (error) {
    throw new LocalError(`cannot read ${path} from ${pod.namespace}/${pod.name}'s proxy: ${(error as { stderr?: string }).stderr?.trim() || (error as Error).message}`, `is its sidecar ready? weftctl local status; weftctl local logs ${pod.name} -c istio-proxy`);
  }
}
