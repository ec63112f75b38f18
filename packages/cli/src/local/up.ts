import { execFileSync } from "node:child_process";
import { chmodSync, chownSync, mkdirSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { stringify } from "yaml";
import { weftBinary, weftNodeFlags, samplesDir } from "./binaries.js";
import { LocalError } from "./errors.js";
import { loadManifests, type Manifest } from "./manifests.js";
import { createBridge, createPodNetwork, loadCaptureRules, removeNetwork, transparentModeSupport } from "./network.js";
import { buildPlan, type LocalPlan, type LocalPod, type NetworkMode } from "./plan.js";
import { provisionLocalCa } from "./mesh-ca.js";
import { isAlive, startDetached, stopAll } from "./processes.js";
import { appAnswers, netnsTcpOpen, tcpOpen, httpOk, waitFor } from "./readiness.js";
import { defaultStateDir, readState, writeState, type LocalState, type RunningProcess } from "./state.js";
import { appEnv, childPath, expandCommand, sidecarEnv } from "./workload-env.js";
import type { Progress } from "./progress.js";

export interface UpOptions {
  files: string[];
  ingressPort: number;
  /** Target of the ingress Service's 443 (default 8443). */
  ingressHttpsPort?: number;
  mode?: NetworkMode;
  stateDir?: string;
  /** How long to wait for every workload to be ready. */
  readyTimeoutMs?: number;
  progress: Progress;
}

/** Sidecar UID/GID, as Istio's injector sets them; capture lets this user's traffic out. */
export const PROXY_UID = 1337;

const DISCOVERY_GRPC_PORT = 15010;
const DISCOVERY_HTTP_PORT = 15080;
const DISCOVERY_MONITORING_PORT = 15014;
const DISCOVERY_READY_TIMEOUT_MS = 60_000;
/**
 * One proxy worker per sidecar (pilot-agent's --concurrency flag, which beats
 * ProxyConfig and the CPU limit; without either the agent runs 2): a laptop mesh
 * of a dozen sidecars gains nothing from a second worker each but its memory
 * and start-up CPU.
 */
const LOCAL_PROXY_ARGS = ["--concurrency", "1"];

export function defaultManifests(): string[] {
  const samples = samplesDir();
  return [join(samples, "bookinfo/platform/kube/bookinfo.yaml"), join(samples, "bookinfo/networking/bookinfo-gateway.yaml")];
}

export function chooseMode(requested: NetworkMode | undefined): NetworkMode {
  const support = transparentModeSupport();
  if (requested === "transparent" && !support.ok) throw new LocalError(`transparent mode is not available: ${support.why}`, "run as root on Linux, or use --mode explicit");
  return requested ?? (support.ok ? "transparent" : "explicit");
}

/** Writes what discovery watches: the user's manifests (services with VIPs) and the local pods. */
export function writeConfigDir(configDir: string, plan: LocalPlan): void {
  rmSync(configDir, { recursive: true, force: true });
  mkdirSync(configDir, { recursive: true });
  const userDocs = plan.rendered.filter((m) => m.metadata.annotations?.["weft.dev/local"] !== "true" && m.metadata.namespace !== plan.gateway.namespace);
  const localDocs = plan.rendered.filter((m) => !userDocs.includes(m));
  writeFileSync(join(configDir, "10-manifests.yaml"), toYaml(userDocs));
  writeFileSync(join(configDir, "90-local-workloads.yaml"), toYaml(localDocs));
}

function toYaml(docs: readonly Manifest[]): string {
  return docs.map((d) => stringify(d)).join("---\n");
}

/** Istio's mesh config for the local mesh: JSON access logs on every proxy's stdout (its istio-proxy log). */
function writeMeshConfig(stateDir: string): string {
  const path = join(stateDir, "mesh.yaml");
  writeFileSync(path, "accessLogFile: /dev/stdout\naccessLogEncoding: JSON\noutboundTrafficPolicy:\n  mode: ALLOW_ANY\n");
  return path;
}

function writePodInfo(dir: string, pod: Pick<LocalPod, "labels" | "annotations">): void {
  mkdirSync(dir, { recursive: true });
  const lines = (map: Record<string, string>) => Object.entries(map).map(([k, v]) => `${k}=${JSON.stringify(v)}`).join("\n") + "\n";
  writeFileSync(join(dir, "labels"), lines(pod.labels));
  writeFileSync(join(dir, "annotations"), lines(pod.annotations));
}

/** A directory the sidecar can write: transparent mode runs it as uid 1337; explicit mode as the caller. */
function ownedBySidecar(dir: string, mode: NetworkMode): string {
  mkdirSync(dir, { recursive: true });
  if (mode === "transparent") chownSync(dir, PROXY_UID, PROXY_UID);
  return dir;
}

export async function localUp(options: UpOptions): Promise<LocalState> {
  const { progress } = options;
  const stateDir = options.stateDir ?? defaultStateDir();
  const previous = readState(stateDir);
  if (previous?.processes.some((p) => isAlive(p.pid))) {
    throw new LocalError(`a local mesh is already running (state in ${stateDir})`, "run `weftctl local down` first, or `weftctl local status` to see it");
  }
  const mode = chooseMode(options.mode);
  const files = options.files.length > 0 ? options.files : defaultManifests();
  const plan = buildPlan(loadManifests(files), { mode, ingressPort: options.ingressPort, ingressHttpsPort: options.ingressHttpsPort });
  // The sidecars run as uid 1337 and must reach their directories under it.
  mkdirSync(stateDir, { recursive: true });
  chmodSync(stateDir, 0o755);
  const configDir = join(stateDir, "config");
  writeConfigDir(configDir, plan);
  progress.step(`${plan.pods.length} workloads from ${files.length} manifest file(s), ${mode} mode`);

  const transparent = mode === "transparent";
  const discovery = {
    // Transparent pods reach the host on the bridge; explicit ones share its loopback.
    grpcAddress: `${transparent ? plan.bridge.ip : "127.0.0.1"}:${DISCOVERY_GRPC_PORT}`,
    httpAddress: `127.0.0.1:${DISCOVERY_HTTP_PORT}`,
    monitoringAddress: `127.0.0.1:${DISCOVERY_MONITORING_PORT}`,
  };
  const { rendered: _rendered, ...planWithoutManifests } = plan;
  const state: LocalState = { version: 1, stateDir, configDir, startedAt: new Date().toISOString(), discovery, plan: planWithoutManifests, processes: [] };
  const processes: RunningProcess[] = state.processes;
  const save = () => writeState(state);
  save();

  const gatewayPod: LocalPod = { name: `${plan.gateway.name}-local`, namespace: plan.gateway.namespace, workload: plan.gateway.name, labels: { app: "istio-ingressgateway", istio: "ingressgateway" }, annotations: {}, serviceAccount: "istio-ingressgateway-service-account", ip: plan.gateway.ip, appIp: plan.gateway.ip, containerPorts: [], containerEnv: [], sidecar: true, netns: "", hostVeth: "" };
  // The mesh CA (in discovery, root kept in <state>/ca) and a token per sidecar, known to it
  // before anything starts; the agents get certificates from it and reach xDS over TLS on
  // 15012 with their token. `local down` removes the state directory, tokens and CA with it.
  const meshCa = provisionLocalCa(stateDir, transparent ? plan.bridge.ip : "127.0.0.1", [gatewayPod, ...plan.pods.filter((p) => p.sidecar)]);

  try {
    progress.step(`discovery on ${discovery.grpcAddress}, with its CA`);
    if (transparent) createBridge(plan);
    processes.push(
      startDetached({
        role: "discovery",
        owner: "weft-discovery",
        command: process.execPath,
        args: [weftBinary("@weft/discovery", "weft-discovery"), "--config-dir", configDir, "--mesh-config", writeMeshConfig(stateDir), "--grpc-addr", discovery.grpcAddress, "--http-addr", discovery.httpAddress, "--monitoring-addr", discovery.monitoringAddress, ...meshCa.discoveryArgs],
        env: { PATH: childPath() },
        log: join(stateDir, "logs", "discovery.log"),
      }),
    );
    save();

    // While discovery starts: every pod's namespace, veth and capture rules, in parallel.
    const agent = weftBinary("@weft/agent", "weft-agent");
    const agentNodeFlags = weftNodeFlags("@weft/agent");
    if (transparent) {
      progress.step("network: a namespace per pod with traffic capture");
      // What Istio's istio-init container does, with the same flags; the rules are the same for every pod.
      const captureRules = execFileSync(process.execPath, [agent, "iptables", "-p", "15001", "-z", "15006", "-u", String(PROXY_UID), "-m", "REDIRECT", "-i", "*", "-x", "", "-b", "*", "-d", "15090,15021,15020", "--dry-run"], { encoding: "utf8" });
      await Promise.all(
        plan.pods.map(async (pod) => {
          await createPodNetwork(plan, pod);
          if (pod.sidecar) await loadCaptureRules(pod, captureRules);
        }),
      );
    } else {
      progress.step("network: explicit mode, each pod on its own 127.10.x.y address, apps send HTTP through their sidecar (HTTP_PROXY)");
    }
    // Sidecars start now, while discovery boots: their agents connect with backoff, as in Kubernetes.
    // Generous: a loaded machine starts slowly, and a slow start is not a failure.
    const discoveryReady = waitFor(() => httpOk(`http://${discovery.httpAddress}/ready`), DISCOVERY_READY_TIMEOUT_MS);

    progress.step(`ingress gateway on port ${plan.gateway.port}`);
    const gatewayDir = join(stateDir, "pods", plan.gateway.namespace, gatewayPod.name);
    writePodInfo(join(gatewayDir, "podinfo"), gatewayPod);
    processes.push(
      startDetached({
        role: "gateway",
        owner: `${plan.gateway.namespace}/${gatewayPod.name}`,
        command: process.execPath,
        args: [...agentNodeFlags, agent, "proxy", "router", ...LOCAL_PROXY_ARGS],
        env: { ...sidecarEnv(gatewayPod, join(gatewayDir, "agent"), join(gatewayDir, "podinfo"), discovery.grpcAddress, mode), ...meshCa.agentEnv(gatewayPod, join(gatewayDir, "secrets")) },
        log: join(gatewayDir, "istio-proxy.log"),
      }),
    );
    save();

    progress.step("workloads and their sidecars");
    const samples = (() => {
      try {
        return samplesDir();
      } catch {
        return undefined;
      }
    })();
    for (const pod of plan.pods) {
      const podDir = join(stateDir, "pods", pod.namespace, pod.name);
      writePodInfo(join(podDir, "podinfo"), pod);
      if (pod.sidecar) {
        processes.push(
          startDetached({
            role: "sidecar",
            owner: `${pod.namespace}/${pod.name}`,
            command: process.execPath,
            args: [...agentNodeFlags, agent, "proxy", "sidecar", ...LOCAL_PROXY_ARGS],
            env: {
              ...sidecarEnv(pod, ownedBySidecar(join(podDir, "agent"), mode), join(podDir, "podinfo"), discovery.grpcAddress, mode),
              ...meshCa.agentEnv(pod, join(podDir, "secrets"), transparent ? PROXY_UID : undefined),
            },
            log: join(podDir, "istio-proxy.log"),
            ...(transparent ? { netns: pod.netns, uid: PROXY_UID } : {}),
            cwd: join(podDir, "agent"),
          }),
        );
      }
      if (pod.command) {
        const env = appEnv(plan, pod, samples);
        const argv = expandCommand(pod.command, env, `${pod.namespace}/${pod.name}`);
        processes.push(
          startDetached({
            role: "app",
            owner: `${pod.namespace}/${pod.name}`,
            command: argv[0],
            args: argv.slice(1),
            env,
            log: join(podDir, "app.log"),
            ...(transparent ? { netns: pod.netns } : {}),
          }),
        );
      } else {
        progress.warn(`${pod.namespace}/${pod.name}: no weft.dev/local-command annotation; only its sidecar runs`);
      }
      save();
    }

    if (!(await discoveryReady)) {
      throw new LocalError(`discovery did not become ready within ${DISCOVERY_READY_TIMEOUT_MS / 1000} s`, `see ${join(stateDir, "logs", "discovery.log")}`);
    }
    progress.step("waiting for readiness");
    const ready = await waitFor(async () => (await readiness(state)).every((w) => w.ready), options.readyTimeoutMs ?? 60_000, 250);
    if (!ready) {
      const notReady = (await readiness(state)).filter((w) => !w.ready).map((w) => w.name);
      throw new LocalError(`not ready after ${(options.readyTimeoutMs ?? 60_000) / 1000} s: ${notReady.join(", ")}`, `see the logs: weftctl local logs <workload> [-c istio-proxy] (in ${stateDir}/pods)`);
    }
    return state;
  } catch (error) {
    progress.warn("start failed; cleaning up");
    await stopAll(processes, 2000);
    if (transparent) removeNetwork(plan);
    state.processes = [];
    save();
    throw error;
  }
}

export interface WorkloadReadiness {
  name: string;
  namespace: string;
  ip: string;
  sidecar: "ready" | "not ready" | "none";
  app: "listening" | "not listening" | "no command";
  ready: boolean;
}

/** Sidecar readiness from 15021 `/healthz/ready`, app readiness from its container port. */
export async function readiness(state: LocalState): Promise<WorkloadReadiness[]> {
  const pods = [
    { name: `${state.plan.gateway.name}-local`, namespace: state.plan.gateway.namespace, ip: state.plan.gateway.ip, sidecar: true, command: undefined, containerPorts: [] as number[], healthHost: "127.0.0.1" },
    ...state.plan.pods.map((p) => ({ ...p, healthHost: p.ip })),
  ];
  return Promise.all(
    pods.map(async (p) => {
      const sidecar = !p.sidecar ? "none" : (await httpOk(`http://${p.healthHost}:15021/healthz/ready`, 2000)) ? "ready" : "not ready";
      const port = p.containerPorts[0];
      const app = !p.command ? "no command" : port === undefined || (await appListening(p, port)) ? "listening" : "not listening";
      return { name: p.name, namespace: p.namespace, ip: p.ip, sidecar, app, ready: sidecar !== "not ready" && app !== "not listening" } as WorkloadReadiness;
    }),
  );
}

/** An app answering HTTP through its sidecar, or, when it speaks something else, accepting connections on its port. */
async function appListening(p: { ip: string; appIp?: string; netns?: string }, port: number): Promise<boolean> {
  const host = p.appIp ?? p.ip;
  const answer = await appAnswers(host, port);
  if (answer !== "not-http") return answer === "yes";
  // Transparent mode: the pod IP is captured by the sidecar, which accepts for any app; ask inside the pod.
  return p.netns ? netnsTcpOpen(p.netns, port) : tcpOpen(host, port);
}
