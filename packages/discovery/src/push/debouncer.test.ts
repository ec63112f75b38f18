import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { createDebouncer, mergeChanges, type DebouncedChange } from "./debouncer.js";

const eds = (...s: string[]) => ({ kinds: new Set(["EndpointSlice"]), endpointsOnly: true, endpointServices: new Set(s) });
const full = (kind = "VirtualService") => ({ kinds: new Set([kind]), endpointsOnly: false, endpointServices: new Set<string>() });

describe("mergeChanges()", () => {
  it("keeps EDS-only when both are EDS-only and unions the services", () => {
    const m = mergeChanges(eds("a"), eds("b"));
    expect(m.endpointsOnly).toBe(true);
    expect([...m.endpointServices].sort()).toEqual(["a", "b"]);
  });

  it("becomes a full change when either is full", () => {
    expect(mergeChanges(eds("a"), full()).endpointsOnly).toBe(false);
    expect([...mergeChanges(eds("a"), full()).kinds].sort()).toEqual(["EndpointSlice", "VirtualService"]);
  });
});

describe("createDebouncer()", () => {
  beforeEach(() => void vi.useFakeTimers());
  afterEach(() => void vi.useRealTimers());

  it("waits for 100 ms of quiet and merges the burst", async () => {
    const flushed: DebouncedChange[] = [];
    const d = createDebouncer({ flush: (c) => void flushed.push(c) });
    d.add(eds("a"));
    await vi.advanceTimersByTimeAsync(60);
    d.add(eds("b"));
    await vi.advanceTimersByTimeAsync(60);
    expect(flushed).toHaveLength(0);
    await vi.advanceTimersByTimeAsync(50);
    expect(flushed).toHaveLength(1);
    expect(flushed[0].merged).toBe(2);
    expect([...flushed[0].endpointServices].sort()).toEqual(["a", "b"]);
  });

  it("flushes at the 1 s cap even if changes keep coming", async () => {
    const flushed: DebouncedChange[] = [];
    const d = createDebouncer({ flush: (c) => void flushed.push(c) });
    for (let t = 0; t < 1500; t += 50) {
      d.add(full());
      await vi.advanceTimersByTimeAsync(50);
      if (t < 950) expect(flushed).toHaveLength(0);
    }
    expect(flushed.length).toBeGreaterThanOrEqual(1);
    d.close();
  });

  it("runs one push at a time and queues what arrives meanwhile", async () => {
    let release!: () => void;
    const flushed: DebouncedChange[] = [];
    const d = createDebouncer({
      flush: (c) => {
        flushed.push(c);
        return flushed.length === 1 ? new Promise<void>((r) => (release = r)) : undefined;
      },
    });
    d.add(full("Service"));
    await vi.advanceTimersByTimeAsync(150);
    d.add(eds("x"));
    await vi.advanceTimersByTimeAsync(500);
    expect(flushed).toHaveLength(1);
    release();
    await vi.advanceTimersByTimeAsync(150);
    expect(flushed).toHaveLength(2);
    expect(flushed[1].endpointsOnly).toBe(true);
  });
});
