import { createHmac, randomBytes, timingSafeEqual } from "node:crypto";

export const SESSION_COOKIE = "session";

/**
 * productpage's sign-in session, the counterpart of Flask's signed `session`
 * cookie: `session=<base64url JSON {"user": …}>.<base64url HMAC-SHA256>`. Only
 * productpage reads it; the user name travels upstream as `end-user`.
 */
export interface SessionCodec {
  encode(user: string): string;
  /** The user of a valid cookie value, undefined for a missing, tampered or malformed one. */
  decode(value: string | undefined): string | undefined;
}

/** A codec signing with `secret` (SESSION_SECRET), or a random per-process key. */
export function createSessionCodec(secret?: string): SessionCodec {
  const key = secret ? Buffer.from(secret, "utf8") : randomBytes(32);
  const sign = (payload: string): Buffer => createHmac("sha256", key).update(payload).digest();
  return {
    encode(user) {
      const payload = Buffer.from(JSON.stringify({ user }), "utf8").toString("base64url");
      return `${payload}.${sign(payload).toString("base64url")}`;
    },
    decode(value) {
      if (!value) return undefined;
      const dot = value.lastIndexOf(".");
      if (dot <= 0) return undefined;
      const payload = value.slice(0, dot);
      const given = Buffer.from(value.slice(dot + 1), "base64url");
      const expected = sign(payload);
      if (given.length !== expected.length || !timingSafeEqual(given, expected)) return undefined;
      try {
        const parsed = JSON.parse(Buffer.from(payload, "base64url").toString("utf8")) as { user?: unknown };
        return typeof parsed.user === "string" && parsed.user !== "" ? parsed.user : undefined;
      } catch {
        return undefined;
      }
    },
  };
}

/** One cookie's value from a Cookie header. */
export function readCookie(header: string | undefined, name: string): string | undefined {
  if (!header) return undefined;
  for (const part of header.split(";")) {
    const eq = part.indexOf("=");
    if (eq < 0) continue;
    if (part.slice(0, eq).trim() === name) return part.slice(eq + 1).trim();
  }
  return undefined;
}
