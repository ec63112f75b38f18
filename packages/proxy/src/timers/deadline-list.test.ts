import { describe, expect, it } from "vitest";
import { DeadlineList, type DeadlineEntry } from "./deadline-list.js";

function entry(name: string, fired: string[]): DeadlineEntry & { name: string } {
  return { name, dlPrev: null, dlNext: null, dlAt: 0, deadlineReached: () => void fired.push(name) };
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe("DeadlineList", () => {
  it("fires entries after their duration, in the order they were added, never the removed ones", async () => {
    const fired: string[] = [];
    const list = new DeadlineList(60);
    const a = entry("a", fired);
    const b = entry("b", fired);
    const c = entry("c", fired);
    const t0 = performance.now();
    list.add(a);
    await sleep(20);
    list.add(b);
    list.add(c);
    list.remove(b);
    await sleep(30);
    expect(fired).toEqual([]);
    await sleep(25);
    // a is due at 60 ms; c (added 20 ms later) is not yet.
    expect(fired).toEqual(["a"]);
    await sleep(40);
    expect(fired).toEqual(["a", "c"]);
    expect(performance.now() - t0).toBeGreaterThanOrEqual(80);
    expect(list.empty).toBe(true);
  });

  it("re-arms for an entry added after the timer was set, and treats a re-add as a new deadline", async () => {
    const fired: string[] = [];
    const list = new DeadlineList(40);
    const a = entry("a", fired);
    list.add(a);
    await sleep(25);
    // Re-adding moves a's deadline 40 ms from now: the first timer finds nothing due.
    list.add(a);
    await sleep(25);
    expect(fired).toEqual([]);
    await sleep(30);
    expect(fired).toEqual(["a"]);
  });

  it("removing an entry that is not in the list changes nothing", () => {
    const fired: string[] = [];
    const list = new DeadlineList(1000);
    const a = entry("a", fired);
    const b = entry("b", fired);
    list.remove(a);
    list.add(b);
    list.remove(a);
    list.remove(b);
    list.remove(b);
    expect(list.empty).toBe(true);
  });

  it("keeps firing the others when one entry throws", async () => {
    const fired: string[] = [];
    const list = new DeadlineList(10);
    const bad: DeadlineEntry = { dlPrev: null, dlNext: null, dlAt: 0, deadlineReached: () => { throw new Error("boom"); } };
    const thrown: unknown[] = [];
    const onErr = (err: unknown) => void thrown.push(err);
    process.prependListener("uncaughtException", onErr);
    try {
      list.add(bad);
      list.add(entry("ok", fired));
      await sleep(40);
    } finally {
      process.off("uncaughtException", onErr);
    }
    expect(fired).toEqual(["ok"]);
    expect(String(thrown[0])).toContain("boom");
  });
});
