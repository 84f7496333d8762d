/**
 * Change tracking for incremental checkpoints (KeyedStateBackend.trackChanges), shared by the
 * heap and on-disk backends. A backend counts its snapshots with a sequence number: a change made
 * while the sequence is `s` belongs to the snapshot taken at `s` (and every later one). Per key
 * group it remembers, for each changed key, the sequence of its last change; "changed since
 * checkpoint b" is then "last change > b's sequence". Keeping only the last change is enough: a
 * key changed before and after b is changed since b either way.
 *
 * A checkpoint that is never confirmed leaves its changes here, so the next checkpoint (asking
 * since the last confirmed one) still gets them. Confirming checkpoint c forgets changes up to
 * c's sequence and every base older than c, once no snapshot is pending: a snapshot being written
 * when c's notification arrives took its base before, and may still ask since it (the barrier of
 * c + 1 can overtake the notification of c). A snapshot asking since a forgotten base gets
 * undefined (a full key group), never a delta with changes missing.
 */

/** Which checkpoint snapshots a delta may start from: checkpoint id -> its snapshot's sequence. */
export class ChangeBases {
  readonly #seqs = new Map<number, number>();
  /** Snapshots taken while tracking and not yet released. */
  #pending = 0;
  /** The newest confirmed checkpoint whose forgetting waits for the pending snapshots. */
  #confirmed: number | undefined;

  /** `drop(seq)`: forget changes made at or before `seq`. */
  constructor(private readonly drop: (seq: number) => void) {}

  /** The restored checkpoint `checkpointId` is a base; its content ends at sequence `seq`. */
  add(checkpointId: number, seq: number): void {
    this.#seqs.set(checkpointId, seq);
  }

  /** A snapshot was taken at sequence `seq`, for checkpoint `checkpointId` if any (its changes end there). */
  taken(checkpointId: number | undefined, seq: number): void {
    if (checkpointId !== undefined) this.#seqs.set(checkpointId, seq);
    this.#pending++;
  }

  /** A snapshot `taken` was released (once per snapshot). */
  released(): void {
    this.#pending--;
    if (this.#pending === 0) this.#forget();
  }

  /** The sequence changes since `checkpointId` start after, or undefined when it cannot be a base. */
  seqOf(checkpointId: number): number | undefined {
    return this.#seqs.get(checkpointId);
  }

  /** Checkpoint `checkpointId` completed: what is older can go (an unknown checkpoint: nothing). */
  confirm(checkpointId: number): void {
    if (!this.#seqs.has(checkpointId)) return;
    if (this.#confirmed === undefined || checkpointId > this.#confirmed) this.#confirmed = checkpointId;
    if (this.#pending === 0) this.#forget();
  }

  #forget(): void {
    const confirmed = this.#confirmed;
    if (confirmed === undefined) return;
    this.#confirmed = undefined;
    for (const id of [...this.#seqs.keys()]) if (id < confirmed) this.#seqs.delete(id);
    this.drop(this.#seqs.get(confirmed)!);
  }
}

/** The keys of one key group first recorded as changed while the sequence was `seq`, in recording order. */
interface KeyChunk {
  readonly seq: number;
  readonly keys: string[];
}

/**
 * Per key group index, the keys changed in each sequence, as one array per sequence (as the heap
 * backend's HeapChangeLog): recording a change is an array push, forgetting a confirmed
 * checkpoint's changes drops whole arrays, and `since` sorts and deduplicates what it hands out.
 * A key may be listed more than once in a sequence (the handles record once per key and interval
 * as far as the write-back cache tells, StateContext.write; a map state's entries each record
 * their key's prefix); a repeat of the key recorded just before is not listed again.
 *
 * Measured (issue 13, profile-engine, lmdb, hot keys, the first 1M records, each a new key): with
 * a Map from key to the sequence of its last change per key group, `mark` took 1,059 ms of the
 * processing thread and `drop` 209 ms, about 1.2 us a change (a Map.set of a new string, the
 * maps' growth, a walk over every remembered key to forget).
 */
export class KeyChanges {
  /** Per key group index, the chunks in ascending sequence. */
  readonly #groups: (KeyChunk[] | undefined)[];

  constructor(groups: number) {
    this.#groups = new Array<KeyChunk[] | undefined>(groups);
  }

  /** Records `key` of key group index `index` as changed while the sequence is `seq` (never lower than an earlier call's). */
  mark(index: number, key: string, seq: number): void {
    let chunks = this.#groups[index];
    if (chunks === undefined) this.#groups[index] = chunks = [];
    let last = chunks[chunks.length - 1];
    if (last === undefined || last.seq !== seq) chunks.push((last = { seq, keys: [] }));
    const keys = last.keys;
    if (keys[keys.length - 1] !== key) keys.push(key);
  }

  /** How many changes key group index `index` has after sequence `seq`, a key counted as often as listed (an upper bound of `since(index, seq).length`). */
  countSince(index: number, seq: number): number {
    let n = 0;
    for (const c of this.#groups[index] ?? []) if (c.seq > seq) n += c.keys.length;
    return n;
  }

  /** The keys of key group index `index` changed after sequence `seq`, sorted, each once. */
  since(index: number, seq: number): string[] {
    const chunks = this.#groups[index];
    if (chunks === undefined) return [];
    let keys: string[] = [];
    for (const c of chunks) if (c.seq > seq) keys = keys.length === 0 ? c.keys.slice() : keys.concat(c.keys);
    keys.sort();
    let n = 0;
    for (let i = 0; i < keys.length; i++) if (i === 0 || keys[i] !== keys[n - 1]) keys[n++] = keys[i]!;
    keys.length = n;
    return keys;
  }

  /** Forgets changes made at or before sequence `seq` (a confirmed checkpoint's). */
  drop(seq: number): void {
    for (const chunks of this.#groups) {
      if (chunks === undefined) continue;
      let n = 0;
      while (n < chunks.length && chunks[n]!.seq <= seq) n++;
      if (n > 0) chunks.splice(0, n);
    }
  }

  /** Changes listed over all key groups and sequences, a key counted as often as listed (for tests and reports). */
  get size(): number {
    let n = 0;
    for (const chunks of this.#groups) for (const c of chunks ?? []) n += c.keys.length;
    return n;
  }
}

/**
 * Where a backend whose handles know the key group (the on-disk one) records a change: the
 * current sequence, advanced by each snapshot taken while tracking. The on-disk handles call
 * `mark` once per key and interval, not per write (StateContext.write): with issue 13's hot keys
 * (1M keys once, then 4M records on 1% of them; profile-engine, lmdb) 1.3M calls instead of
 * 5.2M, 4.0% of the processing thread's samples instead of 6.0%, what remains being the first
 * change of each cold key, which must be remembered (an array push since KeyChanges keeps one
 * array per sequence).
 */
export class ChangeRecorder {
  /** Changes made now belong to the snapshot taken at this sequence. */
  seq = 1;

  constructor(
    readonly changes: KeyChanges,
    readonly firstKeyGroup: number,
  ) {}

  mark(keyGroup: number, key: string): void {
    this.changes.mark(keyGroup - this.firstKeyGroup, key, this.seq);
  }
}
