/**
 * The in-memory priority queue of one time domain's timers (Flink's HeapPriorityQueueSet of
 * TimerHeapInternalTimer): a binary min-heap by timestamp with a set on (timestamp, key), so a
 * timer is queued at most once and deleting one is O(log n) instead of leaving a tombstone that
 * would pile up under "register the new timeout, delete the old one" patterns.
 *
 * It is only an index for firing: the timers themselves live in keyed state (timer-service.ts),
 * and the heap is rebuilt from that state when a subtask opens.
 */

export interface QueuedTimer<K> {
  readonly timestamp: number;
  readonly key: K;
  /** The key's canonical identity (two equal keys have equal ids, whatever their JS identity). */
  readonly keyId: string;
  /** Insertion order: breaks timestamp ties, so firing order is deterministic. */
  readonly seq: number;
  /** Position in the heap array, kept up to date so a timer can be removed from the middle. */
  index: number;
}

/** What the timer service needs of a queue: the heap here, or a queue in an on-disk store. */
export interface TimerQueue<K> {
  readonly size: number;
  add(timestamp: number, key: K, keyId: string): boolean;
  remove(timestamp: number, keyId: string): boolean;
  peek(): Pick<QueuedTimer<K>, 'timestamp' | 'key' | 'keyId'> | undefined;
  poll(): Pick<QueuedTimer<K>, 'timestamp' | 'key' | 'keyId'> | undefined;
}

export class TimerHeap<K> implements TimerQueue<K> {
  readonly #heap: QueuedTimer<K>[] = [];
  readonly #byId = new Map<string, QueuedTimer<K>>();
  #seq = 0;

  get size(): number {
    return this.#heap.length;
  }

  /** Queues the timer; false when the same (timestamp, key) is queued already. */
  add(timestamp: number, key: K, keyId: string): boolean {
    const id = timerId(timestamp, keyId);
    if (this.#byId.has(id)) return false;
    const timer: QueuedTimer<K> = { timestamp, key, keyId, seq: this.#seq++, index: this.#heap.length };
    this.#heap.push(timer);
    this.#byId.set(id, timer);
    this.#siftUp(timer.index);
    return true;
  }

  /** Removes the timer; false when it was not queued. */
  remove(timestamp: number, keyId: string): boolean {
    const id = timerId(timestamp, keyId);
    const timer = this.#byId.get(id);
    if (timer === undefined) return false;
    this.#byId.delete(id);
    this.#removeAt(timer.index);
    return true;
  }

  contains(timestamp: number, keyId: string): boolean {
    return this.#byId.has(timerId(timestamp, keyId));
  }

  /** The earliest timer, without removing it. */
  peek(): QueuedTimer<K> | undefined {
    return this.#heap[0];
  }

  /** Removes and returns the earliest timer. */
  poll(): QueuedTimer<K> | undefined {
    const head = this.#heap[0];
    if (head === undefined) return undefined;
    this.#byId.delete(timerId(head.timestamp, head.keyId));
    this.#removeAt(0);
    return head;
  }

  #removeAt(index: number): void {
    const last = this.#heap.pop()!; // the caller checked that `index` exists
    if (index === this.#heap.length) return; // it was the last one
    this.#heap[index] = last;
    last.index = index;
    // The moved element may belong above or below its new place.
    this.#siftUp(index);
    this.#siftDown(last.index);
  }

  #siftUp(index: number): void {
    const heap = this.#heap;
    const timer = heap[index]!;
    while (index > 0) {
      const parentIndex = (index - 1) >> 1;
      const parent = heap[parentIndex]!;
      if (!before(timer, parent)) break;
      heap[index] = parent;
      parent.index = index;
      index = parentIndex;
    }
    heap[index] = timer;
    timer.index = index;
  }

  #siftDown(index: number): void {
    const heap = this.#heap;
    const timer = heap[index]!;
    const n = heap.length;
    for (;;) {
      const left = 2 * index + 1;
      if (left >= n) break;
      const right = left + 1;
      const child = right < n && before(heap[right]!, heap[left]!) ? right : left;
      const smallest = heap[child]!;
      if (!before(smallest, timer)) break;
      heap[index] = smallest;
      smallest.index = index;
      index = child;
    }
    heap[index] = timer;
    timer.index = index;
  }
}

function before<K>(a: QueuedTimer<K>, b: QueuedTimer<K>): boolean {
  return a.timestamp < b.timestamp || (a.timestamp === b.timestamp && a.seq < b.seq);
}

function timerId(timestamp: number, keyId: string): string {
  return `${timestamp}\u0000${keyId}`;
}
