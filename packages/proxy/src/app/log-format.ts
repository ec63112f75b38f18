import type { DestinationStream } from "pino";

const LEVEL_NAMES: Record<number, [string, string]> = {
  10: ["trace", "T"],
  20: ["debug", "D"],
  30: ["info", "I"],
  40: ["warning", "W"],
  50: ["error", "E"],
  60: ["critical", "C"],
};

const pad = (n: number, w = 2) => String(n).padStart(w, "0");

/**
 * --log-format: renders pino's JSON lines with Envoy's spdlog pattern flags
 * (%Y %m %d %H %M %S %T %e %f %l %L %n %v %t %P %%; %g/%#/%s/%! are source
 * locations we don't have and print empty). Fields beyond the message are
 * appended to %v as key=value.
 */
export function createPatternDestination(pattern: string, out: DestinationStream): DestinationStream {
  return {
    write(line: string) {
      let rec: Record<string, unknown>;
      try {
        rec = JSON.parse(line) as Record<string, unknown>;
      } catch {
        out.write(line);
        return;
      }
      const t = typeof rec["time"] === "string" || typeof rec["time"] === "number" ? new Date(rec["time"] as string) : new Date();
      const [lname, lshort] = LEVEL_NAMES[rec["level"] as number] ?? ["info", "I"];
      const { level: _l, time: _t, msg, component, pid, hostname: _h, ...rest } = rec;
      let v = typeof msg === "string" ? msg : "";
      for (const [k, val] of Object.entries(rest)) v += ` ${k}=${typeof val === "object" ? JSON.stringify(val) : String(val)}`;
      const text = pattern.replace(/%([A-Za-z_#!%])/g, (_m, f: string) => {
        switch (f) {
          case "Y": return String(t.getUTCFullYear());
          case "m": return pad(t.getUTCMonth() + 1);
          case "d": return pad(t.getUTCDate());
          case "H": return pad(t.getUTCHours());
          case "M": return pad(t.getUTCMinutes());
          case "S": return pad(t.getUTCSeconds());
          case "T": return `${pad(t.getUTCHours())}:${pad(t.getUTCMinutes())}:${pad(t.getUTCSeconds())}`;
          case "e": return pad(t.getUTCMilliseconds(), 3);
          case "f": return pad(t.getUTCMilliseconds(), 3) + "000";
          case "l": return lname;
          case "L": return lshort;
          case "n": return typeof component === "string" ? component : "main";
          case "v": return v;
          case "t": case "P": return String(pid ?? process.pid);
          case "%": return "%";
          default: return "";
        }
      });
      out.write(text + "\n");
    },
  };
}
