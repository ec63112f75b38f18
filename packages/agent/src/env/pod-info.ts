import { readFileSync } from "node:fs";
import { join } from "node:path";
import { AgentError } from "../errors.js";

/** Default mount of the downward-API volume `istio-podinfo` in an injected pod. */
export const DEFAULT_POD_INFO_DIR = "/etc/istio/pod";

const GO_ESCAPES: Record<string, string> = { a: "\x07", b: "\b", f: "\f", n: "\n", r: "\r", t: "\t", v: "\v", "\\": "\\", '"': '"', "'": "'" };

/** Undoes Go's strconv.Quote, which the kubelet uses for downward-API label/annotation values. */
function unquoteGo(quoted: string, where: string): string {
  let out = "";
  for (let i = 1; i < quoted.length - 1; i++) {
    const c = quoted[i];
    if (c !== "\\") {
      out += c;
      continue;
    }
    const e = quoted[++i];
    if (e in GO_ESCAPES) out += GO_ESCAPES[e];
    else if (e === "x" || e === "u" || e === "U") {
      const len = e === "x" ? 2 : e === "u" ? 4 : 8;
      const hex = quoted.slice(i + 1, i + 1 + len);
      if (!/^[0-9a-fA-F]+$/.test(hex) || hex.length !== len) throw new AgentError("invalid_env", `${where}: bad escape \\${e}${hex}`);
      out += e === "x" ? String.fromCharCode(parseInt(hex, 16)) : String.fromCodePoint(parseInt(hex, 16));
      i += len;
    } else throw new AgentError("invalid_env", `${where}: unknown escape \\${e}`);
  }
  // \x escapes encode UTF-8 bytes one at a time; re-decode them.
  return /[\x80-\xff]/.test(out) ? Buffer.from(out, "latin1").toString("utf8") : out;
}

/** Parses a downward-API file: one `key="value"` per line (the value Go-quoted). */
export function parseDownwardApi(text: string, fileName = "<downward-api>"): Record<string, string> {
  const out: Record<string, string> = {};
  text.split("\n").forEach((line, idx) => {
    const trimmed = line.trim();
    if (trimmed === "") return;
    const eq = trimmed.indexOf("=");
    const where = `${fileName}:${idx + 1}`;
    if (eq <= 0) throw new AgentError("invalid_env", `${where}: expected key="value", got ${JSON.stringify(trimmed)}`);
    const value = trimmed.slice(eq + 1);
    if (value.length < 2 || !value.startsWith('"') || !value.endsWith('"')) {
      throw new AgentError("invalid_env", `${where}: value of ${trimmed.slice(0, eq)} is not quoted`);
    }
    out[trimmed.slice(0, eq)] = unquoteGo(value, where);
  });
  return out;
}

export interface PodInfo {
  labels: Record<string, string>;
  annotations: Record<string, string>;
}

/** Reads `labels` and `annotations` from the pod-info directory; a missing file means none (as outside Kubernetes). */
export function readPodInfo(dir: string = DEFAULT_POD_INFO_DIR): PodInfo {
  const read = (name: string): Record<string, string> => {
    const file = join(dir, name);
    let text: string;
    try {
      text = readFileSync(file, "utf8");
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === "ENOENT") return {};
      throw new AgentError("invalid_env", `cannot read ${file}: ${(err as Error).message}`, { cause: err });
    }
    return parseDownwardApi(text, file);
  };
  return { labels: read("labels"), annotations: read("annotations") };
}
