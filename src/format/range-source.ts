/**
 * Serves the bytes of many blocks from the ranges a read plan (read-plan.ts) fetches, so a
 * restore reading hundreds of blocks of one file makes a few requests. Holds at most one fetched
 * range per file: blocks of a file are read in file order, so a range is dropped once a block
 * past it is asked for (a block asked out of order is still served, by fetching its range again).
 */
import type { ObjectStore } from '../storage/object-store.ts';
import type { ReadRange } from './read-plan.ts';

/** `length` bytes of one file from `offset`; fewer only where the file ends (the caller decides whether that is truncation). */
export type ByteFetch = (offset: number, length: number) => Promise<Uint8Array>;

export class RangeSource {
  readonly #ranges = new Map<number, ReadRange[]>();
  readonly #held = new Map<number, { readonly range: ReadRange; readonly bytes: Promise<Uint8Array> }>();
  /** Requests made for ranges of several pieces, for tests. */
  rangeReads = 0;

  constructor(ranges: readonly ReadRange[]) {
    for (const range of ranges) {
      if (range.pieces < 2) continue; // a lone piece is read as without a plan
      let list = this.#ranges.get(range.file);
      if (list === undefined) this.#ranges.set(range.file, (list = []));
      list.push(range);
    }
    for (const list of this.#ranges.values()) list.sort((a, b) => a.offset - b.offset);
  }

  /**
   * Starts fetching file `file`'s first planned range now (the next ones are fetched as they are
   * asked for), so that a read moving among many files (each step of a chain lies in its own)
   * waits for their first ranges together instead of one after another. Still at most one range
   * held per file; a failure is reported to the read that asks for those bytes.
   */
  prefetch(file: number, store: ObjectStore, path: string): void {
    const first = this.#ranges.get(file)?.[0];
    if (first === undefined || this.#held.has(file)) return;
    const bytes = store.getRange(path, first.offset, first.length);
    bytes.catch(() => undefined); // not unhandled while nobody has asked yet
    this.#held.set(file, { range: first, bytes });
    this.rangeReads += 1;
  }

  /** Reads of file `file` (at `path` in `store`): from its planned range when one holds the bytes asked, else from the store. */
  fetcher(file: number, store: ObjectStore, path: string): ByteFetch {
    return async (offset, length) => {
      const range = this.#rangeHolding(file, offset, length);
      if (range === undefined) return store.getRange(path, offset, length);
      let held = this.#held.get(file);
      if (held?.range !== range) {
        held = { range, bytes: store.getRange(path, range.offset, range.length) };
        this.#held.set(file, held);
        this.rangeReads += 1;
      }
      const bytes = await held.bytes;
      // A short answer means the file ends early: serve what there is, as a direct read would.
      const from = offset - range.offset;
      return bytes.subarray(Math.min(from, bytes.length), Math.min(from + length, bytes.length));
    };
  }

  #rangeHolding(file: number, offset: number, length: number): ReadRange | undefined {
    const list = this.#ranges.get(file);
    if (list === undefined) return undefined;
    let low = 0;
    let high = list.length - 1;
    while (low <= high) {
      const mid = (low + high) >> 1;
      const range = list[mid]!;
      if (offset < range.offset) high = mid - 1;
      else if (offset >= range.offset + range.length) low = mid + 1;
      else return offset + length <= range.offset + range.length ? range : undefined;
    }
    return undefined;
  }
}
