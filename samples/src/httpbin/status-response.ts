/** A status code chosen for /status/{codes}, or the reason the spec is invalid. */
export type StatusChoice = { ok: true; code: number } | { ok: false; reason: string };

/**
 * httpbin's /status/{codes}: one code, a comma list picked uniformly, or
 * `code:weight` pairs picked by weight (`200:0.9,500:0.1`).
 */
export function chooseStatus(spec: string, random: () => number = Math.random): StatusChoice {
  const choices: { code: number; weight: number }[] = [];
  for (const part of spec.split(",")) {
    const [codeText, weightText] = part.split(":");
    if (!codeText || !/^\d{3}$/.test(codeText.trim())) return { ok: false, reason: "Invalid status code" };
    const weight = weightText === undefined ? 1 : Number(weightText);
    if (!Number.isFinite(weight) || weight < 0) return { ok: false, reason: "Invalid status code" };
    choices.push({ code: Number(codeText.trim()), weight });
  }
  const total = choices.reduce((s, c) => s + c.weight, 0);
  if (total <= 0) return { ok: false, reason: "Invalid status code" };
  let point = random() * total;
  for (const c of choices) {
    if (point < c.weight) return { ok: true, code: c.code };
    point -= c.weight;
  }
  return { ok: true, code: choices[choices.length - 1]!.code };
}

const TEAPOT = `
    -=[ teapot ]=-

       _...._
     .'  _ _ \`.
    | ."\` ^ \`". _,
    \\_;\`"---"\`|//
      |       ;/
      \\_     _/
        \`"""\`
`;

/** The extra headers and body httpbin sends with some status codes. */
export function statusExtras(code: number): { headers: Record<string, string>; body: string; contentType?: string } {
  if ([301, 302, 303, 305, 307].includes(code)) return { headers: { location: "/redirect/1" }, body: "" };
  if (code === 304) return { headers: {}, body: "" };
  if (code === 401) return { headers: { "www-authenticate": 'Basic realm="Fake Realm"' }, body: "" };
  if (code === 402) return { headers: { "x-more-info": "http://vimeo.com/22053820" }, body: "Fuck you, pay me!" };
  if (code === 406) {
    return {
      headers: {},
      contentType: "application/json",
      body: `${JSON.stringify({ message: "Client did not request a supported media type.", accept: ["image/webp", "image/svg+xml", "image/jpeg", "image/png", "image/*"] }, null, 2)}\n`,
    };
  }
  if (code === 407) return { headers: { "proxy-authenticate": 'Basic realm="Fake Realm"' }, body: "" };
  if (code === 418) return { headers: { "x-more-info": "http://tools.ietf.org/html/rfc2324" }, body: TEAPOT };
  return { headers: {}, body: "" };
}
