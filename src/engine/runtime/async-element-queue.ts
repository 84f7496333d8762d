/**
 * The queues of the async wait operator (Flink's OrderedStreamElementQueue and
 * UnorderedStreamElementQueue): what was taken in and not yet emitted, records and watermarks,
 * and which of it may be emitted now. Pure bookkeeping: the operator completes entries and emits.
 *
 * Ordered: only the head may go, so results leave in input order. Unordered: watermarks cut the
 * queue into segments; a record's results go as soon as it completes, but only from the first
 * segment, and a watermark goes only once every record before it has gone, so no result ever
 * moves across a watermark (it would become late, or a watermark would overtake it).
 */

export type AsyncElement =
  | { readonly kind: 'record'; readonly value: unknown; readonly timestamp: number | null }
  | { readonly kind: 'watermark'; readonly timestamp: number };

export interface QueueEntry {
  readonly element: AsyncElement;
  /** Arrival order, for snapshots. */
  readonly seq: number;
  /** A watermark is complete from the start; a record once its request completed. */
  done: boolean;
  results: readonly unknown[];
  /** The queue's own bookkeeping for the entry (the unordered queue's segment): a field, not a Map lookup per record. */
  slot?: unknown;
}

export interface AsyncElementQueue {
  /** Entries taken in and not yet polled. */
  readonly size: number;
  add(entry: QueueEntry): void;
  /** Tells the queue that `entry` (added, a record) is now done. */
  completed(entry: QueueEntry): void;
  /** The next entry that may be emitted, removed from the queue; undefined if none may yet. */
  poll(): QueueEntry | undefined;
  /** Every entry in the queue, in arrival order. */
  values(): QueueEntry[];
}

export class OrderedElementQueue implements AsyncElementQueue {
  #entries: QueueEntry[] = [];
  #head = 0;

  get size(): number {
    return this.#entries.length - this.#head;
  }

  add(entry: QueueEntry): void {
    this.#entries.push(entry);
  }

  completed(): void {}

  poll(): QueueEntry | undefined {
    const head = this.#entries[this.#head];
    if (head === undefined || !head.done) return undefined;
    this.#head += 1;
    // Compact now and then instead of shift() per entry (O(n) each).
    if (this.#head > 1024 && this.#head * 2 > this.#entries.length) {
      this.#entries = this.#entries.slice(this.#head);
      this.#head = 0;
    }
    return head;
  }

  values(): QueueEntry[] {
    return this.#entries.slice(this.#head);
  }
}

/** Records between two watermarks (or one watermark on its own). */
interface Segment {
  readonly watermark: QueueEntry | undefined;
  /** Every record of the segment in arrival order, emitted ones dropped now and then. */
  all: QueueEntry[];
  pending: number;
  /** Completed records in completion order, from `readyHead` on. */
  ready: QueueEntry[];
  readyHead: number;
  emitted: number;
}

/** `slot` of an entry that has left the queue. */
const EMITTED = Symbol('emitted');

/** Counts and arrays rather than a Set per segment: a record costs pushes and an index step. */
export class UnorderedElementQueue implements AsyncElementQueue {
  readonly #segments: Segment[] = [];
  #size = 0;

  get size(): number {
    return this.#size;
  }

  add(entry: QueueEntry): void {
    this.#size += 1;
    if (entry.element.kind === 'watermark') {
      this.#segments.push(segment(entry));
      return;
    }
    let last = this.#segments.at(-1);
    if (last === undefined || last.watermark !== undefined) {
      last = segment(undefined);
      this.#segments.push(last);
    }
    entry.slot = last;
    last.all.push(entry);
    if (entry.done) last.ready.push(entry);
    else last.pending += 1;
  }

  completed(entry: QueueEntry): void {
    const seg = entry.slot as Segment | undefined | typeof EMITTED;
    if (seg === undefined || seg === EMITTED) return;
    seg.pending -= 1;
    seg.ready.push(entry);
  }

  poll(): QueueEntry | undefined {
    for (;;) {
      const first = this.#segments[0];
      if (first === undefined) return undefined;
      if (first.watermark !== undefined) {
        this.#segments.shift();
        this.#size -= 1;
        return first.watermark;
      }
      if (first.readyHead < first.ready.length) {
        const entry = first.ready[first.readyHead++]!;
        entry.slot = EMITTED;
        first.emitted += 1;
        this.#size -= 1;
        compact(first);
        return entry;
      }
      // An emptied record segment before a watermark: the watermark may go now.
      if (first.pending > 0 || this.#segments.length === 1) return undefined;
      this.#segments.shift();
    }
  }

  values(): QueueEntry[] {
    return this.#segments.flatMap((s) => (s.watermark !== undefined ? [s.watermark] : s.all.filter((e) => e.slot !== EMITTED)));
  }
}

function segment(watermark: QueueEntry | undefined): Segment {
  return { watermark, all: [], pending: 0, ready: [], readyHead: 0, emitted: 0 };
}

/** Drops what was emitted once it is most of a segment's arrays (amortised O(1) per record). */
function compact(s: Segment): void {
  if (s.readyHead > 1024 && s.readyHead * 2 > s.ready.length) {
    s.ready = s.ready.slice(s.readyHead);
    s.readyHead = 0;
  }
  if (s.emitted > 1024 && s.emitted * 2 > s.all.length) {
    s.all = s.all.filter((e) => e.slot !== EMITTED);
    s.emitted = 0;
  }
}
