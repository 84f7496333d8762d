/**
 * The keys of a key group's chain that a newer block has already decided (set or deleted), while
 * the chain is replayed newest block first (chain-replay.ts). A key is its canonical bytes
 * (FORMAT.md 5.1); a string key is held as the decoded string instead, which is the same identity
 * (a canonical string is the UTF-8 of a string without lone surrogates, so bytes and string
 * determine each other) and costs no scan of the frame and no second string per key.
 */
export class DecidedKeys {
  readonly #strings = new Set<string>();
  /** Keys that are not strings, by their canonical bytes as latin1. */
  readonly #bytes = new Set<string>();

  get size(): number {
    return this.#strings.size + this.#bytes.size;
  }

  /** Whether string key `key` is new here (it is decided from now on). */
  decideString(key: string): boolean {
    const before = this.#strings.size;
    this.#strings.add(key);
    return this.#strings.size !== before;
  }

  /** Whether the key of canonical bytes `id` (latin1) is new here (it is decided from now on). */
  decideBytes(id: string): boolean {
    const before = this.#bytes.size;
    this.#bytes.add(id);
    return this.#bytes.size !== before;
  }

  hasString(key: string): boolean {
    return this.#strings.has(key);
  }

  hasBytes(id: string): boolean {
    return this.#bytes.has(id);
  }
}
