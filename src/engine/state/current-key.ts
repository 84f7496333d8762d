/**
 * The key the current record belongs to, resolved once per record: its key string (canonical
 * bytes, key-string.ts), which indexes the per-key-group Maps, and its key group. Every state
 * handle of the subtask reads this one object, so switching keys costs one encoding and at most
 * one hash however many states the function touches.
 */
import { InternalError, UserError } from '../../errors.ts';
import type { KeyGroupRange } from '../../format/snapshot-reader.ts';
import { keyGroupOfKeyString, keyStringOf } from './key-string.ts';

export type { KeyGroupRange };

export class CurrentKey {
  #key: unknown = undefined;
  #keyString = '';
  #keyGroup = -1;
  #index = -1;
  /** Set while there is deliberately no current key (the broadcast side of a keyed operator): what to tell a function that reads keyed state then. */
  #noKeyReason: string | undefined;

  constructor(
    readonly range: KeyGroupRange,
    readonly maxParallelism: number,
    /** Who owns the backend, for messages (operator uid and subtask). */
    readonly owner: string,
  ) {}

  /**
   * Throws InvalidKeyError (a UserError) for a value that is not a key. `knownKeyGroup` is the
   * key's group when the caller has it already (the partitioner that routed the record computed
   * it from the same key), so the key is not hashed twice; -1 when it must be computed.
   */
  set(key: unknown, knownKeyGroup = -1): void {
    const keyString = keyStringOf(key);
    const keyGroup = knownKeyGroup >= 0 ? knownKeyGroup : keyGroupOfKeyString(keyString, this.maxParallelism);
    if (keyGroup < this.range.start || keyGroup > this.range.end) {
      throw new InternalError(
        `${this.owner}: key ${describeKey(key)} is in key group ${keyGroup}, outside this subtask's key groups ` +
          `[${this.range.start}, ${this.range.end}] (max parallelism ${this.maxParallelism}); the record was routed to the wrong subtask`,
      );
    }
    this.#noKeyReason = undefined;
    this.#key = key;
    this.#keyString = keyString;
    this.#keyGroup = keyGroup;
    this.#index = keyGroup - this.range.start;
  }

  /** No current key until the next `set`: keyed state access throws a UserError saying `reason`. */
  clear(reason: string): void {
    this.#key = undefined;
    this.#keyString = '';
    this.#keyGroup = -1;
    this.#index = -1;
    this.#noKeyReason = reason;
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
    if (this.#index >= 0) return;
    if (this.#noKeyReason !== undefined) throw new UserError(`${this.owner}: ${this.#noKeyReason}`);
    throw new InternalError(`${this.owner}: keyed state accessed before a current key was set`);
  }
}

function describeKey(key: unknown): string {
  const text = typeof key === 'string' ? JSON.stringify(key) : typeof key === 'object' ? (JSON.stringify(key) ?? String(key)) : String(key);
  return text.length > 80 ? `${text.slice(0, 77)}...` : text;
}
