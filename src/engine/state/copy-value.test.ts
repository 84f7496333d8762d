import { describe, expect, it } from 'vitest';
import { deepCopy } from './copy-value.ts';

describe('deepCopy', () => {
  it('returns primitives as they are and copies every container', () => {
    for (const x of [1, 'a', true, null, undefined, 10n]) expect(deepCopy(x)).toBe(x);
    const inner = { n: 1 };
    const value = { list: [inner, [2]], bytes: Uint8Array.of(1, 2), when: new Date(5), map: new Map([['k', ['k', inner]]]) };
    const copy = deepCopy(value);
    expect(copy).toEqual(value);
    expect(copy.list[0]).not.toBe(inner);
    expect(copy.bytes).not.toBe(value.bytes);
    expect(copy.when).not.toBe(value.when);
    expect(copy.map.get('k')![1]).not.toBe(inner);
  });

  it('keeps an own __proto__ property as data, and null prototypes', () => {
    const odd = JSON.parse('{"__proto__": {"x": 1}, "y": 2}') as Record<string, unknown>;
    const copy = deepCopy(odd);
    expect(Object.getPrototypeOf(copy)).toBe(Object.prototype);
    expect(Object.keys(copy)).toEqual(['__proto__', 'y']);
    const bare = Object.assign(Object.create(null) as Record<string, unknown>, { a: 1 });
    expect(Object.getPrototypeOf(deepCopy(bare))).toBeNull();
  });

  it('copies own properties only, even when Object.prototype has an enumerable one', () => {
    let copy: object;
    Object.defineProperty(Object.prototype, 'polluted', { value: { x: 1 }, enumerable: true, writable: true, configurable: true });
    try {
      copy = deepCopy({ a: { b: 1 } });
    } finally {
      delete (Object.prototype as Record<string, unknown>).polluted; // before expect, which is affected too
    }
    expect(Object.keys(copy)).toEqual(['a']);
    expect(copy).toEqual({ a: { b: 1 } });
  });

    it('refuses cycles instead of overflowing the stack', () => {
    const cyclic: unknown[] = [];
    cyclic.push(cyclic);
    expect(() => deepCopy(cyclic)).toThrow(/nested deeper than/);
  });
});
