// A small helper that walks a spec and records field errors with their dotted
// path (`spec.http[0].route[1].weight`), so every validator reports the same way.
import { RE2 } from "re2-wasm";
import type { ConfigError } from "../contracts.js";
import { parseDurationMs } from "./duration.js";

export type Json = Record<string, unknown>;

export function isObject(value: unknown): value is Json {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

export class FieldChecker {
  readonly errors: ConfigError[] = [];
  constructor(
    private readonly origin: string,
    private readonly object: string,
  ) {}

  fail(field: string, reason: string): void {
    this.errors.push({ origin: this.origin, object: this.object, field, reason });
  }

  /** The value as an object (or undefined when absent); wrong types are reported. */
  object_(value: unknown, field: string): Json | undefined {
    if (value === undefined || value === null) return undefined;
    if (!isObject(value)) {
      this.fail(field, `must be an object, got ${JSON.stringify(value)}`);
      return undefined;
    }
    return value;
  }

  array(value: unknown, field: string): unknown[] {
    if (value === undefined || value === null) return [];
    if (!Array.isArray(value)) {
      this.fail(field, `must be a list, got ${JSON.stringify(value)}`);
      return [];
    }
    return value;
  }

  string(value: unknown, field: string, required = false): string | undefined {
    if (value === undefined || value === null) {
      if (required) this.fail(field, "is required");
      return undefined;
    }
    if (typeof value !== "string") {
      this.fail(field, `must be a string, got ${JSON.stringify(value)}`);
      return undefined;
    }
    if (required && value === "") this.fail(field, "must not be empty");
    return value;
  }

  port(value: unknown, field: string, required = false): number | undefined {
    if (value === undefined || value === null) {
      if (required) this.fail(field, "is required");
      return undefined;
    }
    if (typeof value !== "number" || !Number.isInteger(value) || value < 1 || value > 65535) {
      this.fail(field, `port ${JSON.stringify(value)} must be an integer in 1-65535`);
      return undefined;
    }
    return value;
  }

  integer(value: unknown, field: string, min: number, max: number): number | undefined {
    if (value === undefined || value === null) return undefined;
    if (typeof value !== "number" || !Number.isInteger(value) || value < min || value > max) {
      this.fail(field, `${JSON.stringify(value)} must be an integer in ${min}-${max}`);
      return undefined;
    }
    return value;
  }

  duration(value: unknown, field: string, minMs = 0): number | undefined {
    if (value === undefined || value === null) return undefined;
    try {
      const ms = parseDurationMs(value);
      if (ms < minMs) {
        this.fail(field, `duration ${JSON.stringify(value)} must be at least ${minMs}ms`);
        return undefined;
      }
      return ms;
    } catch (err) {
      this.fail(field, (err as Error).message);
      return undefined;
    }
  }

  /** Envoy compiles safe_regex with RE2: anything RE2 refuses (lookaround, backrefs) is an error here. */
  regex(value: unknown, field: string): void {
    const text = this.string(value, field);
    if (text === undefined) return;
    try {
      new RE2(text, "u");
    } catch (err) {
      this.fail(field, `regex ${JSON.stringify(text)} does not compile under RE2: ${(err as Error).message}`);
    }
  }

  percentage(value: unknown, field: string): void {
    const obj = this.object_(value, field);
    if (!obj) return;
    const v = obj.value;
    if (v !== undefined && (typeof v !== "number" || v < 0 || v > 100)) this.fail(`${field}.value`, `percentage ${JSON.stringify(v)} must be in 0-100`);
  }

  oneOf(value: unknown, field: string, allowed: readonly string[]): string | undefined {
    const text = this.string(value, field);
    if (text === undefined) return undefined;
    if (!allowed.includes(text)) {
      this.fail(field, `${JSON.stringify(text)} is not one of ${allowed.join(", ")}`);
      return undefined;
    }
    return text;
  }

  stringMap(value: unknown, field: string): Record<string, string> | undefined {
    const obj = this.object_(value, field);
    if (!obj) return undefined;
    for (const [k, v] of Object.entries(obj)) {
      if (typeof v !== "string") this.fail(`${field}.${k}`, `label value must be a string, got ${JSON.stringify(v)}`);
    }
    return obj as Record<string, string>;
  }
}
