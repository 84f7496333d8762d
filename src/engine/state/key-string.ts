/**
 * Keys as the strings that index the per-key-group Maps: the canonical key bytes (FORMAT.md)
 * with one char per byte (latin1). The mapping is injective over byte strings, so two keys share
 * a Map slot exactly when their canonical bytes are equal, and the string is itself the key's
 * bytes: a snapshot writes it and hashes it without encoding the key again.
 *
 * Computed once or twice per record (partitioner, backend), so the common key, a short ASCII
 * string, skips the byte encoder: its canonical form is the fixstr header and then the string.
 */
import { CanonicalKeyEncoder } from '../../format/canonical-key.ts';
import { murmur3_32Latin1 } from '../../format/murmur3.ts';

/** The latin1 string of `bytes` (a canonical key, or any byte string). */
export function bytesToKeyString(bytes: Uint8Array): string {
  // apply() is the fastest for short keys but passes every byte as an argument.
  if (bytes.length <= 1024) return String.fromCharCode.apply(null, bytes as unknown as number[]);
  return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.length).toString('latin1');
}

/** MessagePack fixstr headers 0xa0 | n, as one-char strings. */
const FIXSTR_HEADERS: readonly string[] = Array.from({ length: 32 }, (_, n) => String.fromCharCode(0xa0 | n));

const encoder = new CanonicalKeyEncoder();

/** The key string of a key (also a map state's user key); throws InvalidKeyError for a non-key. */
export function keyStringOf(key: unknown): string {
  if (typeof key === 'string' && key.length < 32) {
    const header = FIXSTR_HEADERS[key.length]!; // length < 32 checked above
    let ascii = true;
    for (let i = 0; i < key.length; i++) {
      if (key.charCodeAt(i) >= 0x80) {
        ascii = false;
        break;
      }
    }
    // ASCII: one UTF-8 byte per char, so the canonical bytes are the header and the chars.
    if (ascii) return header + key;
  }
  return bytesToKeyString(encoder.encode(key));
}

/** The key group of a key given as its key string: murmur3_32 of the canonical bytes, mod maxP. */
export function keyGroupOfKeyString(keyString: string, maxParallelism: number): number {
  return murmur3_32Latin1(keyString, 0) % maxParallelism;
}
