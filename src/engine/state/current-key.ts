/**
 * The key the current record belongs to, resolved once per record: its canonical bytes, its key
 * group, and the string that indexes the per-key-group Maps. Every state handle of the subtask
 * reads this one object, so switching keys costs one encoding and one hash however many states
 * the function touches.
 */
import { InternalError } from '../../errors.ts';
import { CanonicalKeyEncoder } from '../../format/canonical-key.ts';
import { keyGroupForBytes } from '../../format/key-groups.ts';
import type { KeyGroupRange } from '../../format/snapshot-reader.ts';

export type { KeyGroupRange };

/**
 * A string with one char per byte (latin1): injective over byte strings, so two keys share a
 * Map slot exactly when their canonical bytes are equal.
 */
export function bytesToKeyString(bytes: Uint8Array): string {
  // apply() is the fastest for short keys but passes every byte as an argument.
  if (bytes.length <= 1024) return String.fromCharCode.apply(null, bytes as unknown as number[]);
  return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.length).toString('latin1');
}

const userKeyEncoder = new CanonicalKeyEncoder();

/** The Map slot of a map state's user key (compared by canonical bytes, like keyed-state keys). */
export function userKeyString(userKey: unknown): string {
  return bytesToKeyString(userKeyEncoder.encode(userKey));
}

export class CurrentKey {
  readonly #encoder = new CanonicalKeyEncoder();
  #key: unknown = undefined;
  #keyString = '';
  #keyGroup = -1;
  #index = -1;

  constructor(
    readonly range: KeyGroupRange,
    readonly maxParallelism: number,
    /** Who owns the backend, for messages (operator uid and subtask). */
    readonly owner: string,
  ) {}

  /** Throws InvalidKeyError (a UserError) for a value that is not a key. */
  set(key: unknown): void {
    const bytes = this.#encoder.encode(key);
    const keyGroup = keyGroupForBytes(bytes, this.maxParallelism);
    if (keyGroup < this.range.start || keyGroup > this.range.end) {
      throw new InternalError(
        `${this.owner}: key ${describeKey(key)} is in key group ${keyGroup}, outside this subtask's key groups ` +
          `[${this.range.start}, ${this.range.end}] (max parallelism ${this.maxParallelism}); the record was routed to the wrong subtask`,
      );
    }
    this.#key = key;
    this.#keyString = bytesToKeyString(bytes);
    this.#keyGroup = keyGroup;
    this.#index = keyGroup - this.range.start;
  }

  get key(): unknown {
    this.#check();
    return this.#key;
  }

  get keyString(): string {
    this.#check();
    return this.#keyString;
  }

  get keyGroup(): number {
    this.#check();
    return this.#keyGroup;
  }

  /** `keyGroup - range.start`: the index into a StateTable's per-key-group Maps. */
  get index(): number {
    this.#check();
    return this.#index;
  }

  get isSet(): boolean {
    return this.#index >= 0;
  }

  #check(): void {
    if (this.#index < 0) throw new InternalError(`${this.owner}: keyed state accessed before a current key was set`);
  }
}

function describeKey(key: unknown): string {
  const text = typeof key === 'string' ? JSON.stringify(key) : typeof key === 'object' ? (JSON.stringify(key) ?? String(key)) : String(key);
  return text.length > 80 ? `${text.slice(0, 77)}...` : text;
}
