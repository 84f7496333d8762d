/**
 * A store snapshot's entries in a range with the changes not yet in the store laid over them
 * (the write-back cache's frozen changes, sorted by key; null: deleted), in key order: what a
 * keyed snapshot reads, on the processing thread (embedded-keyed-snapshot.ts) and on the lmdb
 * snapshot thread alike.
 */
import { latin1Between, latin1ToBytes } from './memory-store.ts';

export function* mergeOverlay(
  entries: Iterable<readonly [Uint8Array, Uint8Array]>,
  overlay: readonly (readonly [string, Uint8Array | null])[],
): Generator<readonly [Uint8Array, Uint8Array]> {
  let i = 0;
  for (const entry of entries) {
    if (i < overlay.length) {
      const key = latin1Between(entry[0], 0, entry[0].length);
      for (; i < overlay.length && overlay[i]![0] < key; i++) {
        const [k, v] = overlay[i]!;
        if (v !== null) yield [latin1ToBytes(k), v];
      }
      if (i < overlay.length && overlay[i]![0] === key) {
        const v = overlay[i++]![1];
        if (v !== null) yield [entry[0], v];
        continue;
      }
    }
    yield entry;
  }
  for (; i < overlay.length; i++) {
    const [k, v] = overlay[i]!;
    if (v !== null) yield [latin1ToBytes(k), v];
  }
}
