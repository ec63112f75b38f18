/** What a scenario can do to a mesh, whatever runs it (local processes, a kind cluster). */
export interface MeshDriver {
  readonly name: string;
  /** Why this driver can't run here, or undefined when it can. */
  unavailable(): Promise<string | undefined>;
  /** Starts the mesh with these manifests; resolves once every workload is ready. */
  up(options: { files: string[]; ingressPort: number; ingressHttpsPort?: number }): Promise<void>;
  /** Stops everything and cleans up. */
  down(): Promise<void>;
  /** Live config change (Istio config, services). */
  apply(files: string[]): Promise<void>;
  /** Removes the objects these files define, as `kubectl delete --ignore-not-found -f` (cleanup: some may never have been applied). */
  delete(files: string[]): Promise<void>;
  /**
   * Runs a command inside a workload's network, as its app; with container "istio-proxy" as
   * the sidecar container (uid 1337: capture lets it out unproxied, a plaintext client).
   */
  exec(workload: string, command: string[], container?: "istio-proxy"): Promise<ExecResult>;
  /** The workload's pod IP. */
  podIp(workload: string): Promise<string>;
  /** A workload's app log, or its sidecar's with container "istio-proxy". */
  logs(workload: string, container?: "istio-proxy"): Promise<string>;
  /** Restarts discovery, the ingress gateway, or a workload. */
  restart(component: string): Promise<void>;
  /** Process ids of everything the mesh runs on this machine (empty for remote drivers). */
  processes(): Promise<number[]>;
  /** Base URL of the ingress gateway, e.g. http://127.0.0.1:8080. */
  ingressUrl(): string;
}

export interface ExecResult {
  code: number;
  stdout: string;
  stderr: string;
}
