// %START_TIME(<format>)% — strftime-like formatting in UTC, with Envoy's
// extensions: %s (epoch seconds), %f / %<n>f (fractional seconds, 9 digits by
// default), %E<n>S (seconds with n fractional digits). Our clock has
// millisecond precision, so digits past the third are zeros.
const DAYS = ["Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat"];
const MONTHS = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"];

type Piece = string | ((d: Date, ms: number) => string);

const pad = (n: number, width = 2) => String(n).padStart(width, "0");

function fraction(ms: number, digits: number): string {
  const millis = pad(((ms % 1000) + 1000) % 1000, 3);
  return digits <= 3 ? millis.slice(0, digits) : millis + "0".repeat(digits - 3);
}

/** Envoy's default: `%Y-%m-%dT%H:%M:%E3SZ` (ISO 8601, UTC, milliseconds). */
export const DEFAULT_START_TIME_FORMAT = "%Y-%m-%dT%H:%M:%E3SZ";

export function compileStartTimeFormat(format: string = DEFAULT_START_TIME_FORMAT): (epochMs: number) => string {
  const pieces: Piece[] = [];
  let literal = "";
  const flush = () => {
    if (literal) pieces.push(literal);
    literal = "";
  };
  for (let i = 0; i < format.length; i++) {
    const ch = format[i]!;
    if (ch !== "%" || i + 1 >= format.length) {
      literal += ch;
      continue;
    }
    let spec = format[++i]!;
    let digits: number | undefined;
    if (spec === "E" && /^\d?S/.test(format.slice(i + 1))) {
      const m = /^(\d?)S/.exec(format.slice(i + 1))!;
      digits = m[1] ? Number(m[1]) : 9;
      i += m[0].length;
      flush();
      const n = digits;
      pieces.push((d, ms) => pad(d.getUTCSeconds()) + (n > 0 ? "." + fraction(ms, n) : ""));
      continue;
    }
    if (/[1-9]/.test(spec) && format[i + 1] === "f") {
      digits = Number(spec);
      spec = "f";
      i++;
    }
    flush();
    switch (spec) {
      case "Y": pieces.push((d) => String(d.getUTCFullYear())); break;
      case "y": pieces.push((d) => pad(d.getUTCFullYear() % 100)); break;
      case "m": pieces.push((d) => pad(d.getUTCMonth() + 1)); break;
      case "d": pieces.push((d) => pad(d.getUTCDate())); break;
      case "e": pieces.push((d) => String(d.getUTCDate()).padStart(2, " ")); break;
      case "H": pieces.push((d) => pad(d.getUTCHours())); break;
      case "I": pieces.push((d) => pad(((d.getUTCHours() + 11) % 12) + 1)); break;
      case "p": pieces.push((d) => (d.getUTCHours() < 12 ? "AM" : "PM")); break;
      case "M": pieces.push((d) => pad(d.getUTCMinutes())); break;
      case "S": pieces.push((d) => pad(d.getUTCSeconds())); break;
      case "j": pieces.push((d) => pad(Math.floor((d.getTime() - Date.UTC(d.getUTCFullYear(), 0, 1)) / 86_400_000) + 1, 3)); break;
      case "a": pieces.push((d) => DAYS[d.getUTCDay()]!); break;
      case "A": pieces.push((d) => d.toLocaleDateString("en-US", { weekday: "long", timeZone: "UTC" })); break;
      case "b": case "h": pieces.push((d) => MONTHS[d.getUTCMonth()]!); break;
      case "B": pieces.push((d) => d.toLocaleDateString("en-US", { month: "long", timeZone: "UTC" })); break;
      case "F": pieces.push((d) => `${d.getUTCFullYear()}-${pad(d.getUTCMonth() + 1)}-${pad(d.getUTCDate())}`); break;
      case "T": pieces.push((d) => `${pad(d.getUTCHours())}:${pad(d.getUTCMinutes())}:${pad(d.getUTCSeconds())}`); break;
      case "D": pieces.push((d) => `${pad(d.getUTCMonth() + 1)}/${pad(d.getUTCDate())}/${pad(d.getUTCFullYear() % 100)}`); break;
      case "z": pieces.push("+0000"); break;
      case "Z": pieces.push("UTC"); break;
      case "s": pieces.push((_d, ms) => String(Math.floor(ms / 1000))); break;
      case "f": { const n = digits ?? 9; pieces.push((_d, ms) => fraction(ms, n)); break; }
      case "%": pieces.push("%"); break;
      case "n": pieces.push("\n"); break;
      case "t": pieces.push("\t"); break;
      default: pieces.push("%" + spec);
    }
  }
  flush();
  if (pieces.every((p) => typeof p === "string")) {
    const text = pieces.join("");
    return () => text;
  }
  // Start times have millisecond resolution and a busy proxy logs many requests per millisecond:
  // the last answer is kept.
  let lastMs = Number.NaN;
  let lastText = "";
  return (epochMs) => {
    if (epochMs === lastMs) return lastText;
    const d = new Date(epochMs);
    let out = "";
    for (const p of pieces) out += typeof p === "string" ? p : p(d, epochMs);
    lastMs = epochMs;
    lastText = out;
    return out;
  };
}
