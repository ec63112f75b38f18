import { SampleError } from "./sample-error.js";

export interface ListenConfig {
  /** Address to bind; 0.0.0.0 (every interface) as a container does by default. */
  host: string;
  /** Port to listen on; 0 picks an ephemeral port (tests). */
  port: number;
}

export interface ListenSources {
  env: NodeJS.ProcessEnv;
  /** `--port` flag or the positional port argument the original images take. */
  portArg?: string;
  /** `--bind` flag. */
  bindArg?: string;
  /** The container port of the Kubernetes manifest. */
  defaultPort: number;
}

/**
 * Where an app listens. Precedence: flag, then env (PORT, BIND_ADDRESS, which
 * `weftctl local up` sets from the weft.dev/local-command contract), then the
 * manifest's containerPort on every interface, so an app started by hand behaves
 * as it does in its pod.
 */
export function readListenConfig(src: ListenSources): ListenConfig {
  const portText = src.portArg ?? src.env.PORT;
  const port = portText === undefined || portText === "" ? src.defaultPort : parsePort(portText, src.portArg !== undefined ? "--port" : "PORT");
  const host = src.bindArg ?? (src.env.BIND_ADDRESS || "0.0.0.0");
  return { host, port };
}

export function parsePort(text: string, what: string): number {
  if (!/^\d+$/.test(text)) throw new SampleError(`${what} must be a port number (0-65535), got "${text}"`);
  const n = Number(text);
  if (n > 65535) throw new SampleError(`${what} must be a port number (0-65535), got ${n}`);
  return n;
}

/** A positive duration in milliseconds from an env var, or the default. */
export function readMillis(env: NodeJS.ProcessEnv, name: string, fallback: number): number {
  const text = env[name];
  if (text === undefined || text === "") return fallback;
  const n = Number(text);
  if (!Number.isFinite(n) || n <= 0) throw new SampleError(`${name} must be a positive number of milliseconds, got "${text}"`);
  return n;
}
