import type { Logger } from "pino";
import type { CommandLineOptions } from "./command-line-options.js";
import { loadBootstrap, BootstrapError } from "../bootstrap/load-bootstrap.js";
import { reportUnimplementedBootstrapFields } from "../bootstrap/report-unimplemented.js";
import { createAccessLogManager } from "../accesslog/access-logger-factory.js";
import { createStatsStore } from "../stats/stats-store.js";
import { createTagProducer } from "../stats/tag-extractor.js";
import { resolveAdsTarget } from "../xds/ads-target.js";
import { createUnsupportedReporter } from "../bootstrap/unsupported-reporter.js";
import { checkResources } from "./check-resources.js";

export interface ValidateResult {
  ok: boolean;
  /** What to print: `configuration '<path>' OK`, or the error naming the field. */
  message: string;
}

/**
 * `--mode validate`: everything serve mode does up to binding sockets —
 * parse, unknown fields, PGV rules, stats tags, the ADS target, then every
 * static cluster and listener through the data path's compilers.
 */
export async function validateConfig(options: CommandLineOptions, logger: Logger): Promise<ValidateResult> {
  const name = options.configPath ?? "--config-yaml";
  const fail = (why: string): ValidateResult => ({ ok: false, message: `error initializing configuration '${name}': ${why}` });
  const report = createUnsupportedReporter(logger).report;
  let loaded;
  try {
    loaded = loadBootstrap(options);
  } catch (err) {
    if (err instanceof BootstrapError) return fail(err.message);
    throw err;
  }
  const { bootstrap } = loaded;
  for (const field of loaded.unknownFields) report(field, "unknown field skipped (--allow-unknown-static-fields)");
  reportUnimplementedBootstrapFields(bootstrap, report);
  try {
    createTagProducer(bootstrap.statsConfig);
    resolveAdsTarget(bootstrap);
  } catch (err) {
    return fail((err as Error).message);
  }
  const accessLogs = createAccessLogManager({ stats: createStatsStore(), logger, flushIntervalMs: 60_000, reportUnsupported: report });
  try {
    const sr = bootstrap.staticResources;
    const problems = checkResources(
      { clusters: sr?.clusters ?? [], listeners: sr?.listeners ?? [] },
      { accessLogs: accessLogs.factory, reportUnsupported: report },
      (kind, i) => `static_resources.${kind === "cluster" ? "clusters" : "listeners"}[${i}].`,
    );
    if (problems.length) {
      const p = problems[0]!;
      return fail(`${p.field.replace(/\.$/, "")} (${p.kind} '${p.name}'): ${p.message}`);
    }
  } finally {
    await accessLogs.close();
  }
  return { ok: true, message: `configuration '${name}' OK` };
}
