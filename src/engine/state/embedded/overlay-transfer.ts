/**
 * A key group's overlay (the write-back cache's frozen changes, sorted by key; null: deleted) in
 * the form it crosses to the lmdb snapshot thread: the keys as strings and every value copied
 * into one buffer, which is transferred, not cloned.
 *
 * The cache's values are msgpackr's output, views into shared buffers of 8 KiB or more, and a
 * structured clone copies a view's whole buffer: issue 13 measured an overlay of about 80 hot
 * keys dragging some 30 buffers (240 KiB) along, 55 MB cloned over a 6M-record run on lmdb and
 * 186 ms of the processing thread in postMessage. Copied, the same overlay is its values' bytes.
 */

/** `lengths[i]` is the byte length of key i's value in `bytes` (after the values before it), or -1: deleted. */
export interface PackedOverlay {
  readonly keys: readonly string[];
  readonly lengths: Int32Array;
  readonly bytes: Uint8Array;
}

export type Overlay = readonly (readonly [string, Uint8Array | null])[];

export function packOverlay(overlay: Overlay): PackedOverlay {
  const keys: string[] = new Array<string>(overlay.length);
  const lengths = new Int32Array(overlay.length);
  let total = 0;
  for (let i = 0; i < overlay.length; i++) {
    const [key, value] = overlay[i]!;
    keys[i] = key;
    lengths[i] = value === null ? -1 : value.length;
    if (value !== null) total += value.length;
  }
  const bytes = new Uint8Array(total);
  let at = 0;
  for (const [, value] of overlay) {
    if (value === null) continue;
    bytes.set(value, at);
    at += value.length;
  }
  return { keys, lengths, bytes };
}

/**
 * `packOverlay` of `keys` with `values` (in the same order) and of `deleted`, without building the
 * overlay's pairs first: the chain rewrite thread's changes are most of a key group while a
 * million keys are first written, and a pair per change was garbage per change.
 */
export function packChanges(keys: readonly string[], values: readonly Uint8Array[], deleted: readonly string[]): PackedOverlay {
  const upserts = keys.length;
  const lengths = new Int32Array(upserts + deleted.length);
  let total = 0;
  for (let i = 0; i < upserts; i++) {
    const length = values[i]!.length;
    lengths[i] = length;
    total += length;
  }
  lengths.fill(-1, upserts);
  const bytes = new Uint8Array(total);
  let at = 0;
  for (let i = 0; i < upserts; i++) {
    const value = values[i]!;
    const length = value.length;
    // Most values are a few bytes (counters): a loop costs less than a call to set.
    if (length <= 8) for (let j = 0; j < length; j++) bytes[at + j] = value[j]!;
    else bytes.set(value, at);
    at += length;
  }
  return { keys: deleted.length === 0 ? keys : keys.concat(deleted), lengths, bytes };
}

/**
 * `packOverlay` of maps applied in turn (a key may come more than once; the last one wins), not
 * grouped or sorted: the records of writes an incremental checkpoint hands the chain rewrite
 * thread whole (chain-rewrite-thread.ts), which groups and sorts them there.
 */
export function packLayers(layers: readonly ReadonlyMap<string, Uint8Array | null>[]): PackedOverlay {
  let count = 0;
  let total = 0;
  for (const layer of layers) {
    count += layer.size;
    // forEach: a for-of over a Map allocated an iterator result (and a pair) per entry, 150 MB over
    // a 6M-record run (issue 13, V8's sampling heap profiler).
    layer.forEach((value) => {
      if (value !== null) total += value.length;
    });
  }
  const keys: string[] = new Array<string>(count);
  const lengths = new Int32Array(count);
  const bytes = new Uint8Array(total);
  let i = 0;
  let at = 0;
  for (const layer of layers) {
    layer.forEach((value, key) => {
      keys[i] = key;
      if (value === null) lengths[i] = -1;
      else {
        const length = value.length;
        lengths[i] = length;
        if (length <= 8) for (let j = 0; j < length; j++) bytes[at + j] = value[j]!;
        else bytes.set(value, at);
        at += length;
      }
      i++;
    });
  }
  return { keys, lengths, bytes };
}

/** The overlay again, its values views into `packed.bytes`. */
export function unpackOverlay(packed: PackedOverlay): [string, Uint8Array | null][] {
  const out: [string, Uint8Array | null][] = new Array<[string, Uint8Array | null]>(packed.keys.length);
  let at = 0;
  for (let i = 0; i < packed.keys.length; i++) {
    const length = packed.lengths[i]!;
    if (length < 0) out[i] = [packed.keys[i]!, null];
    else {
      out[i] = [packed.keys[i]!, packed.bytes.subarray(at, at + length)];
      at += length;
    }
  }
  return out;
}

/** The buffers to transfer with a packed overlay: its own, never shared with anything else. */
export function overlayTransferList(packed: PackedOverlay): ArrayBuffer[] {
  return [packed.lengths.buffer as ArrayBuffer, packed.bytes.buffer as ArrayBuffer];
}
