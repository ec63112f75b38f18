// The worker that runs on the primary's own thread: it talks to the primary
// over a MessageChannel as a worker thread does over its parentPort, gets
// signals as messages, and its exit (or failure) reaches the primary.
import { describe, expect, it } from "vitest";
import { reusePortUnavailableReason } from "../listener/reuse-port.js";
import { chooseWorkerKind, startWorkerHere } from "./worker-handles.js";
import type { PrimaryMessage, WorkerRole } from "./worker-messages.js";

describe("startWorkerHere", () => {
  it("exchanges messages with the worker, relays a signal, and reports the worker's exit code", async () => {
    let role: WorkerRole | undefined;
    const w = startWorkerHere(0, (r) => {
      role = r;
      return new Promise((resolve) => {
        r.port!.on("message", (m: PrimaryMessage) => {
          if (m.weft === "signal") resolve(m.signal === "SIGTERM" ? 3 : 4);
          if (m.weft === "stats") r.port!.postMessage({ weft: "peer-stats", id: m.id });
        });
        r.port!.postMessage({ weft: "ready", admin: null });
      });
    });
    const seen: unknown[] = [];
    w.onMessage((m) => seen.push(m));
    const exit = new Promise<[number, string | null, Error | undefined]>((resolve) => w.onExit((code, signal, error) => resolve([code, signal, error])));
    expect(role).toMatchObject({ index: 0, kind: "thread" });
    expect(w.connected()).toBe(true);
    w.send({ weft: "stats", id: 7 });
    await new Promise((r) => setTimeout(r, 20));
    expect(seen).toEqual([{ weft: "ready", admin: null }, { weft: "peer-stats", id: 7 }]);
    w.signal("SIGTERM");
    expect(await exit).toEqual([3, null, undefined]);
    expect(w.dead()).toBe(true);
    // Nothing is sent to a worker that has exited.
    expect(() => w.send({ weft: "stats", id: 8 })).not.toThrow();
  });

  it("reports a worker whose main throws as exit 1 with the error", async () => {
    const w = startWorkerHere(0, () => Promise.reject(new Error("bootstrap unreadable")));
    const [code, , err] = await new Promise<[number, string | null, Error | undefined]>((resolve) => w.onExit((code, signal, error) => resolve([code, signal, error])));
    expect(code).toBe(1);
    expect(err?.message).toBe("bootstrap unreadable");
  });
});

describe("chooseWorkerKind", () => {
  it("uses processes when WEFT_PROXY_WORKERS=processes asks for them", () => {
    expect(chooseWorkerKind({ WEFT_PROXY_WORKERS: "processes" })).toEqual({ kind: "process", why: "WEFT_PROXY_WORKERS=processes" });
  });

  it("uses threads where listeners can be shared, else processes and says why", () => {
    const chosen = chooseWorkerKind({});
    expect(chosen.kind).toBe(reusePortUnavailableReason() === undefined ? "thread" : "process");
    if (chosen.kind === "thread") expect(chosen.why).toBeUndefined();
    else expect(chosen.why).toMatch(/SO_REUSEPORT|addon/);
  });
});
