/**
 * Checked access to a decoded MessagePack map, so a frozen metadata reader turns any surprise in a
 * file (a missing key, a wrong type, a value out of range) into one FormatError naming the field.
 */
export type Fail = (problem: string) => never;

export function isPlainMap(value: unknown): value is Record<string, unknown> {
  if (typeof value !== 'object' || value === null || Array.isArray(value) || value instanceof Uint8Array) return false;
  const proto: unknown = Object.getPrototypeOf(value);
  return proto === Object.prototype || proto === null;
}

export class Fields {
  readonly #map: Record<string, unknown>;

  constructor(
    value: unknown,
    readonly path: string,
    readonly fail: Fail,
  ) {
    if (!isPlainMap(value)) fail(`${path}: expected a map`);
    this.#map = value;
  }

  #get(key: string): unknown {
    if (!Object.hasOwn(this.#map, key)) this.fail(`${this.path}.${key}: missing`);
    return this.#map[key];
  }

  has(key: string): boolean {
    return Object.hasOwn(this.#map, key) && this.#map[key] !== null && this.#map[key] !== undefined;
  }

  str(key: string): string {
    const value = this.#get(key);
    if (typeof value !== 'string') this.fail(`${this.path}.${key}: expected a string`);
    return value;
  }

  uint(key: string): number {
    return checkUint(this.#get(key), `${this.path}.${key}`, this.fail);
  }

  oneOf<T extends string>(key: string, allowed: readonly T[]): T {
    const value = this.str(key);
    if (!(allowed as readonly string[]).includes(value)) {
      this.fail(`${this.path}.${key}: '${value}' is not one of ${allowed.join(', ')}`);
    }
    return value as T;
  }

  bytes(key: string, length: number): Uint8Array {
    const value = this.#get(key);
    if (!(value instanceof Uint8Array) || value.length !== length) {
      this.fail(`${this.path}.${key}: expected ${length} bytes`);
    }
    return Uint8Array.from(value);
  }

  array(key: string): unknown[] {
    const value = this.#get(key);
    if (!Array.isArray(value)) this.fail(`${this.path}.${key}: expected an array`);
    return value;
  }

  map(key: string): Fields {
    return new Fields(this.#get(key), `${this.path}.${key}`, this.fail);
  }

  /** The raw value, for maps whose keys are data (e.g. phase durations). */
  raw(key: string): unknown {
    return this.#get(key);
  }
}

export function checkUint(value: unknown, path: string, fail: Fail): number {
  if (typeof value !== 'number' || !Number.isSafeInteger(value) || value < 0) {
    fail(`${path}: expected a non-negative integer`);
  }
  return value;
}
