// Deadlines of one duration (a route's 15 s timeout, say) kept in an intrusive
// list and driven by a single timer. Every request sets such a deadline and
// almost every request clears it long before it fires; a Node Timeout per
// request is an object, an async id and a timer-list insert for nothing. Here
// the entry is the caller's own object: adding and removing are pointer
// updates. Entries of one list expire in the order they were added, so the
// timer only ever needs the head's deadline.

export interface DeadlineEntry {
  /** List bookkeeping, owned by the DeadlineList (initialise to null / 0). */
  dlPrev: DeadlineEntry | null;
  dlNext: DeadlineEntry | null;
  /** When the entry expires (performance.now() ms); 0 when not in a list. */
  dlAt: number;
  deadlineReached(): void;
}

export class DeadlineList {
  private head: DeadlineEntry | null = null;
  private tail: DeadlineEntry | null = null;
  private timer: NodeJS.Timeout | undefined = undefined;

  constructor(readonly ms: number) {}

  add(e: DeadlineEntry): void {
    if (e.dlAt !== 0) this.remove(e);
    e.dlAt = performance.now() + this.ms;
    e.dlNext = null;
    e.dlPrev = this.tail;
    if (this.tail) this.tail.dlNext = e;
    else this.head = e;
    this.tail = e;
    if (this.timer === undefined) this.arm(this.ms);
  }

  /** Takes `e` out of the list; a no-op for an entry that is not in it. */
  remove(e: DeadlineEntry): void {
    if (e.dlAt === 0) return;
    e.dlAt = 0;
    if (e.dlPrev) e.dlPrev.dlNext = e.dlNext;
    else this.head = e.dlNext;
    if (e.dlNext) e.dlNext.dlPrev = e.dlPrev;
    else this.tail = e.dlPrev;
    e.dlPrev = e.dlNext = null;
  }

  get empty(): boolean {
    return this.head === null;
  }

  private arm(ms: number): void {
    // At least 1 ms: Node turns 0 into 1 anyway, and a timer must never spin.
    this.timer = setTimeout(expire, Math.max(1, Math.ceil(ms)), this);
    // Pending deadlines alone don't keep the process up; the sockets they time do.
    this.timer.unref();
  }

  /** Fires every entry whose deadline has passed, then re-arms for the next one. */
  expire(): void {
    this.timer = undefined;
    const now = performance.now();
    let e = this.head;
    while (e !== null && e.dlAt <= now) {
      this.remove(e);
      try {
        e.deadlineReached();
      } catch (err) {
        // One entry's failure must not strand the others; rethrown after the list moves on.
        queueMicrotask(() => {
          throw err;
        });
      }
      e = this.head;
    }
    if (e !== null && this.timer === undefined) this.arm(e.dlAt - now);
  }
}

function expire(list: DeadlineList): void {
  list.expire();
}

const lists = new Map<number, DeadlineList>();

/** The shared list for deadlines of `ms` (one per distinct duration, like Node's own timer lists). */
export function deadlineList(ms: number): DeadlineList {
  let l = lists.get(ms);
  if (l === undefined) {
    l = new DeadlineList(ms);
    lists.set(ms, l);
  }
  return l;
}
