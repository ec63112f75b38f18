// Releasing Node's startup-only pages (release-startup-pages.ts,
// native/startup_pages.c): two real weft-proxy processes on the same config,
// one with the release turned off, compared by what /proc says is resident of
// the node executable once both have served traffic — and the released one
// must go on serving.
import { readFileSync, readlinkSync } from "node:fs";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { socketAddonUnavailableReason } from "../native/socket-addon.js";
import { startEchoUpstream, startHostileProxy, type HostileProxy, type Upstream } from "../test-util/hostile-proxy.js";
import { poller } from "../test-util/until.js";

const until = poller({ timeoutMs: 20_000, stepMs: 100 });
const noAddon = socketAddonUnavailableReason();
const MB = 1024 * 1024;

/** Bytes of process `pid`'s mappings of its own executable that are resident now. */
function executableResident(pid: number): number {
  const exe = readlinkSync(`/proc/${pid}/exe`);
  let inExe = false;
  let kb = 0;
  for (const line of readFileSync(`/proc/${pid}/smaps`, "utf8").split("\n")) {
    const header = /^[0-9a-f]+-[0-9a-f]+ \S+ \S+ \S+ \S+\s*(.*)$/.exec(line);
    if (header) inExe = header[1] === exe;
    else if (inExe && line.startsWith("Rss:")) kb += Number(/(\d+)/.exec(line)![1]);
  }
  return kb * 1024;
}

async function serve(proxy: HostileProxy, n: number): Promise<number[]> {
  const statuses: number[] = [];
  for (let i = 0; i < n; i++) statuses.push((await proxy.get("/release-check"))[0]);
  return statuses;
}

describe.skipIf(noAddon !== undefined)(`Node's startup pages released once LIVE${noAddon ? ` (skipped: ${noAddon})` : ""}`, () => {
  let upstream: Upstream;
  let released: HostileProxy;
  let kept: HostileProxy;

  beforeAll(async () => {
    upstream = await startEchoUpstream();
    [released, kept] = await Promise.all([
      startHostileProxy(upstream.port),
      startHostileProxy(upstream.port, {}, {}, { WEFT_KEEP_STARTUP_PAGES: "1" }),
    ]);
  }, 120_000);
  afterAll(async () => {
    await Promise.all([released?.stop(), kept?.stop()]);
    await upstream?.close();
  });

  it("says what it released, and only when not told to keep them", async () => {
    await until(() => /released Node's startup-only pages/.test(released.stderr()), "the release log line");
    const line = released.stderr().split("\n").find((l) => l.includes("released Node's startup-only pages"))!;
    const { mappings, residentMb } = JSON.parse(line) as { mappings: number; residentMb: number };
    expect(mappings).toBeGreaterThan(0);
    expect(residentMb).toBeGreaterThan(10);
    await new Promise((r) => setTimeout(r, 1500));
    expect(kept.stderr()).not.toMatch(/startup-only pages/);
  }, 30_000);

  it("keeps well under the resident executable of a proxy that kept them, and serves as before", async () => {
    await until(() => /released Node's startup-only pages/.test(released.stderr()), "the release log line");
    // Both serve the same traffic first: what the data path needs again comes back.
    expect(new Set(await serve(released, 200))).toEqual(new Set([200]));
    expect(new Set(await serve(kept, 200))).toEqual(new Set([200]));
    const r = executableResident(released.pid);
    const k = executableResident(kept.pid);
    if (process.env.WEFT_TEST_VERBOSE === "1") console.log(`node executable resident: released ${(r / MB).toFixed(1)} MB, kept ${(k / MB).toFixed(1)} MB`);
    expect(k - r).toBeGreaterThan(8 * MB);
    expect(released.rss()).toBeLessThan(kept.rss() - 8 * MB);
  }, 60_000);
});
