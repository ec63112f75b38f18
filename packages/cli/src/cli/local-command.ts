import { parseArgs } from "node:util";
import { applyObjects, localApply } from "../local/apply.js";
import { localDelete, notFoundError, targetsOfArgs, targetsOfFiles } from "../local/delete.js";
import { genericSecret, tlsSecret } from "../local/create-secret.js";
import { localDown } from "../local/down.js";
import { LocalError } from "../local/errors.js";
import { execInWorkload } from "../local/exec.js";
import { readWorkloadLog } from "../local/logs.js";
import { createProgress } from "../local/progress.js";
import { defaultStateDir, readState, type LocalState } from "../local/state.js";
import { formatStatus, localStatus } from "../local/status.js";
import { localUp } from "../local/up.js";
import { localRestart } from "../local/restart.js";
import { DEFAULT_INGRESS_HTTPS_PORT, type NetworkMode } from "../local/plan.js";

export const LOCAL_USAGE = `Usage: weftctl local <command>

  up [-f FILE|DIR]… [--ingress-port 8080] [--ingress-https-port 8443]
     [--mode transparent|explicit] [-d]
                     start discovery, an ingress gateway and every workload with its sidecar
                     (default manifests: bookinfo with its gateway); -d returns once ready.
                     The ingress Service maps 80 and 443 to the two ports, as Istio's does
  status [-o json]   workloads, pod IPs, sidecar and app readiness
  apply -f FILE…     live config changes (Istio config, services, Secrets)
  delete -f FILE… | KIND NAME… | KIND/NAME… [-n NAMESPACE] [--ignore-not-found]
                     remove config as kubectl delete does (e.g. authorizationpolicy allow-nothing)
  create secret tls NAME --cert FILE --key FILE [-n NAMESPACE]
  create secret generic NAME --from-file=[KEY=]FILE… [-n NAMESPACE]
                     a Secret, as kubectl creates it (e.g. a Gateway's credentialName)
  exec WORKLOAD [-c istio-proxy] -- CMD…
                          run a command inside the workload's network, as the app (or as
                          its sidecar, uid 1337, which traffic capture lets out unproxied)
  logs WORKLOAD [-c istio-proxy]   the app's (or the sidecar's) log
  restart COMPONENT  restart discovery, istio-ingressgateway or a workload (app and sidecar)
  down               stop everything, remove namespaces and rules

State lives in $WEFT_LOCAL_DIR (default: a weft-local directory under the system temp dir).
`;

function portFlag(flag: string, value: string | undefined): number {
  const port = Number(value);
  if (!Number.isInteger(port) || port < 1 || port > 65535) throw new LocalError(`${flag} ${value} is not a port`, "use a number from 1 to 65535");
  return port;
}

function requireState(): LocalState {
  const state = readState(defaultStateDir());
  if (!state) throw new LocalError("no local mesh is running", "start one with `weftctl local up`");
  return state;
}

export async function runLocal(argv: string[]): Promise<number> {
  const [command, ...rest] = argv;
  switch (command) {
    case "up": {
      const { values } = parseArgs({
        args: rest,
        options: {
          file: { type: "string", short: "f", multiple: true },
          "ingress-port": { type: "string", default: "8080" },
          "ingress-https-port": { type: "string", default: String(DEFAULT_INGRESS_HTTPS_PORT) },
          mode: { type: "string" },
          detach: { type: "boolean", short: "d", default: false },
          timeout: { type: "string", default: "60" },
        },
        strict: true,
      });
      const ingressPort = portFlag("--ingress-port", values["ingress-port"]);
      const ingressHttpsPort = portFlag("--ingress-https-port", values["ingress-https-port"]);
      if (values.mode && values.mode !== "transparent" && values.mode !== "explicit") throw new LocalError(`--mode ${values.mode}: expected transparent or explicit`);
      const progress = createProgress();
      const started = Date.now();
      const state = await localUp({ files: values.file ?? [], ingressPort, ingressHttpsPort, mode: values.mode as NetworkMode | undefined, progress, readyTimeoutMs: Number(values.timeout) * 1000 });
      process.stdout.write(formatStatus(await localStatus(state)));
      process.stdout.write(`Ready in ${((Date.now() - started) / 1000).toFixed(1)} s. Try: curl -s http://127.0.0.1:${ingressPort}/productpage | grep -o "<title>.*</title>"\n`);
      if (values.detach) return 0;
      process.stdout.write("Running; press Ctrl-C to stop and clean up.\n");
      // Ctrl-C, kill, or the terminal closing (SIGHUP): the mesh's processes are
      // detached, so without this they would outlive the command.
      // Signal listeners alone don't keep Node running (every child is detached): hold the loop open.
      const keepAlive = setInterval(() => undefined, 1 << 30);
      await new Promise<void>((resolve) => {
        for (const signal of ["SIGINT", "SIGTERM", "SIGHUP"] as const) process.once(signal, resolve);
      });
      clearInterval(keepAlive);
      await localDown(progress);
      return 0;
    }
    case "down": {
      const stopped = await localDown(createProgress());
      process.stdout.write(stopped ? "Local mesh stopped and cleaned up.\n" : "No local mesh was running.\n");
      return 0;
    }
    case "status": {
      const { values } = parseArgs({ args: rest, options: { output: { type: "string", short: "o" } }, strict: true });
      const report = await localStatus(requireState());
      process.stdout.write(values.output === "json" ? JSON.stringify(report, null, 2) + "\n" : formatStatus(report));
      return 0;
    }
    case "apply": {
      const { values } = parseArgs({ args: rest, options: { file: { type: "string", short: "f", multiple: true } }, strict: true });
      if (!values.file?.length) throw new LocalError("nothing to apply", "usage: weftctl local apply -f FILE…");
      for (const applied of localApply(requireState(), values.file)) process.stdout.write(`${applied} applied\n`);
      return 0;
    }
    case "delete": {
      const { values, positionals } = parseArgs({
        args: rest,
        options: { file: { type: "string", short: "f", multiple: true }, namespace: { type: "string", short: "n", default: "default" }, "ignore-not-found": { type: "boolean", default: false } },
        allowPositionals: true,
        strict: true,
      });
      if (values.file?.length && positionals.length) throw new LocalError("give files (-f) or KIND NAME, not both", "usage: weftctl local delete -f FILE… | KIND NAME…");
      const targets = values.file?.length ? targetsOfFiles(values.file, values.namespace) : targetsOfArgs(positionals, values.namespace);
      const { deleted, notFound } = localDelete(requireState(), targets);
      for (const d of deleted) process.stdout.write(`${d} deleted\n`);
      if (notFound.length && !values["ignore-not-found"]) throw notFoundError(notFound);
      return 0;
    }
    case "create": {
      const [what, type, ...args] = rest;
      if (what !== "secret" || (type !== "tls" && type !== "generic")) throw new LocalError(`unknown command: local create ${rest.slice(0, 2).join(" ")}`, "weftctl local create secret tls|generic NAME …");
      const { values, positionals } = parseArgs({
        args,
        options: { namespace: { type: "string", short: "n", default: "default" }, cert: { type: "string" }, key: { type: "string" }, "from-file": { type: "string", multiple: true } },
        allowPositionals: true,
        strict: true,
      });
      if (positionals.length > 1) throw new LocalError(`one secret name expected, got ${positionals.join(" ")}`);
      const options = { name: positionals[0], namespace: values.namespace! };
      const secret = type === "tls" ? tlsSecret({ ...options, cert: values.cert, key: values.key }) : genericSecret({ ...options, fromFile: values["from-file"] });
      for (const created of applyObjects(requireState(), [secret])) process.stdout.write(`${created} created\n`);
      return 0;
    }
    case "exec": {
      const dash = rest.indexOf("--");
      if (dash < 0) throw new LocalError("usage: weftctl local exec WORKLOAD [-c istio-proxy] -- CMD [ARGS…]");
      const { values, positionals } = parseArgs({ args: rest.slice(0, dash), options: { container: { type: "string", short: "c" } }, allowPositionals: true, strict: true });
      if (!positionals[0]) throw new LocalError("usage: weftctl local exec WORKLOAD [-c istio-proxy] -- CMD [ARGS…]");
      return execInWorkload(requireState(), positionals[0], rest.slice(dash + 1), values.container);
    }
    case "logs": {
      const { values, positionals } = parseArgs({ args: rest, options: { container: { type: "string", short: "c" } }, allowPositionals: true, strict: true });
      if (!positionals[0]) throw new LocalError("usage: weftctl local logs WORKLOAD [-c istio-proxy]");
      process.stdout.write(readWorkloadLog(requireState(), positionals[0], values.container));
      return 0;
    }
    case "restart": {
      if (!rest[0]) throw new LocalError("usage: weftctl local restart discovery|istio-ingressgateway|WORKLOAD");
      for (const p of await localRestart(requireState(), rest[0])) process.stdout.write(`restarted ${p.role} ${p.owner} (pid ${p.pid})\n`);
      return 0;
    }
    case undefined:
    case "help":
    case "--help":
      process.stdout.write(LOCAL_USAGE);
      return 0;
    default:
      throw new LocalError(`unknown command: local ${command}`, "see `weftctl local --help`");
  }
}
