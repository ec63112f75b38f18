import type { StatsConfig } from "@weft/xds-api/gen/envoy/config/metrics/v3/stats_pb";
import { DEFAULT_TAG_EXTRACTORS, type DefaultTagDescriptor } from "./default-tag-extractors.js";

export type Tag = readonly [name: string, value: string];

export interface ExtractedName {
  /** The name with every tag's removal span cut out (`cluster.upstream_rq_total`). */
  name: string;
  tags: Tag[];
}

/** Applies stats_config tag extraction to flat Envoy stat names. */
export interface TagProducer {
  produce(name: string): ExtractedName;
}

interface Match {
  value: string;
  /** [start, end) of the characters to remove from the name. */
  remove?: readonly [number, number];
}

interface Extractor {
  tagName: string;
  match(name: string): Match | undefined;
}

export class StatsConfigError extends Error {
  override readonly name = "StatsConfigError";
  constructor(
    readonly fieldPath: string,
    reason: string,
  ) {
    super(`${fieldPath}: ${reason}`);
  }
}

// Custom stats_tags regexes are std::regex (ECMAScript grammar) in Envoy, not
// RE2: Istio's own tags use lookahead (`^listener(?=\.)…`), which RE2 rejects.
// JS RegExp is ECMAScript too; only the POSIX bracket classes
// (`[_.[:digit:]]`) that std::regex also accepts need translating.
const POSIX_CLASSES: Record<string, string> = {
  digit: String.raw`\d`,
  alpha: "a-zA-Z",
  alnum: "a-zA-Z0-9",
  upper: "A-Z",
  lower: "a-z",
  space: String.raw`\s`,
  xdigit: "0-9A-Fa-f",
  punct: String.raw`!-\/:-@\[-\x60{-~`,
  w: String.raw`\w`,
};

export function translateStdRegex(source: string): string {
  return source.replace(/\[:([a-z]+):\]/g, (whole, cls: string) => POSIX_CLASSES[cls] ?? whole);
}

function regexExtractor(tagName: string, source: string, fieldPath: string, substr?: string, negativeMatch?: string): Extractor {
  let regex: RegExp;
  try {
    regex = new RegExp(translateStdRegex(source), "d");
  } catch (cause) {
    throw new StatsConfigError(fieldPath, `invalid regex '${source}': ${(cause as Error).message}`);
  }
  return {
    tagName,
    match(name) {
      if (substr && !name.includes(substr)) return undefined;
      const m = regex.exec(name);
      // Envoy: group 1 is removed from the name, group 2 (if any) is the value.
      if (!m || m[1] === undefined || !m.indices?.[1]) return undefined;
      const value = m.length > 2 && m[2] !== undefined ? m[2] : m[1];
      if (negativeMatch !== undefined && value === negativeMatch) return undefined;
      const [start, end] = m.indices[1];
      return { value, remove: [start, end] };
    },
  };
}

function tokensExtractor(tagName: string, pattern: string): Extractor {
  const want = pattern.split(".");
  return {
    tagName,
    match(name) {
      const got = name.split(".");
      const valueIndex = matchTokens(want, 0, got, 0);
      if (valueIndex === undefined || valueIndex < 0) return undefined;
      let start = 0;
      for (let i = 0; i < valueIndex; i++) start += got[i]!.length + 1;
      const value = got[valueIndex]!;
      // Remove the value token and the dot after it (or before it when last).
      const remove: [number, number] =
        valueIndex < got.length - 1 ? [start, start + value.length + 1] : [start - 1, start + value.length];
      return { value, remove };
    },
  };
}

/** Returns the index of the token matched by `$` (-1 when none), or undefined on no match. */
function matchTokens(want: string[], wi: number, got: string[], gi: number): number | undefined {
  if (wi === want.length) return gi === got.length ? -1 : undefined;
  const token = want[wi]!;
  if (token === "**") {
    for (let skip = 0; gi + skip <= got.length; skip++) {
      const rest = matchTokens(want, wi + 1, got, gi + skip);
      if (rest !== undefined) return rest;
    }
    return undefined;
  }
  if (gi >= got.length) return undefined;
  if (token !== "*" && token !== "$" && token !== got[gi]) return undefined;
  const rest = matchTokens(want, wi + 1, got, gi + 1);
  if (rest === undefined) return undefined;
  return token === "$" ? gi : rest;
}

function defaultExtractor(d: DefaultTagDescriptor): Extractor {
  return d.kind === "regex"
    ? regexExtractor(d.name, d.regex, `default tag ${d.name}`, d.substr, d.negativeMatch)
    : tokensExtractor(d.name, d.pattern);
}

/**
 * Compiles stats_config once. Default extractors run first (when
 * use_all_default_tags is unset or true), then stats_tags in order; every
 * extractor sees the original name, and the removal spans are cut at the end
 * (Envoy's TagProducerImpl).
 */
export function createTagProducer(config?: StatsConfig): TagProducer {
  const custom: Extractor[] = [];
  const fixed: Tag[] = [];
  const customNames = new Set<string>();
  (config?.statsTags ?? []).forEach((spec, i) => {
    const path = `stats_config.stats_tags[${i}]`;
    if (!spec.tagName) throw new StatsConfigError(`${path}.tag_name`, "must not be empty");
    customNames.add(spec.tagName);
    switch (spec.tagValue.case) {
      case "regex":
        custom.push(regexExtractor(spec.tagName, spec.tagValue.value, `${path}.regex`));
        break;
      case "fixedValue":
        fixed.push([spec.tagName, spec.tagValue.value]);
        break;
      default: {
        const defaults = DEFAULT_TAG_EXTRACTORS.filter((d) => d.name === spec.tagName);
        if (defaults.length === 0) {
          throw new StatsConfigError(`${path}.regex`, `no regex or fixed_value, and '${spec.tagName}' is not one of Envoy's default tag names`);
        }
        custom.push(...defaults.map(defaultExtractor));
      }
    }
  });
  const useDefaults = config?.useAllDefaultTags ?? true;
  const extractors = [
    ...(useDefaults ? DEFAULT_TAG_EXTRACTORS.filter((d) => !customNames.has(d.name)).map(defaultExtractor) : []),
    ...custom,
  ];

  return {
    produce(name) {
      const tags: Tag[] = [];
      const spans: Array<readonly [number, number]> = [];
      const seen = new Set<string>();
      for (const ex of extractors) {
        if (seen.has(ex.tagName)) continue;
        const m = ex.match(name);
        if (!m) continue;
        seen.add(ex.tagName);
        tags.push([ex.tagName, m.value]);
        if (m.remove) spans.push(m.remove);
      }
      tags.push(...fixed);
      return { name: removeSpans(name, spans), tags };
    },
  };
}

function removeSpans(name: string, spans: Array<readonly [number, number]>): string {
  if (spans.length === 0) return name;
  const drop = new Uint8Array(name.length);
  for (const [s, e] of spans) drop.fill(1, Math.max(0, s), Math.min(name.length, e));
  let out = "";
  for (let i = 0; i < name.length; i++) if (!drop[i]) out += name[i];
  return out;
}
