import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { UserError } from '../errors.ts';
import {
  bytesEqual,
  CanonicalKeyEncoder,
  compareBytes,
  decodeCanonicalKey,
  encodeCanonicalKey,
  InvalidKeyError,
} from './canonical-key.ts';

const hex = (key: unknown): string => Buffer.from(encodeCanonicalKey(key)).toString('hex');
const fromHex = (h: string): Uint8Array => new Uint8Array(Buffer.from(h, 'hex'));

/** Arbitrary valid keys: every supported type, nested, with the edge numbers fc.double gives. */
const { key: arbKey } = fc.letrec((tie) => ({
  key: fc.oneof({ depthSize: 'small', withCrossShrink: true }, tie('leaf'), tie('array'), tie('object')),
  leaf: fc.oneof(
    fc.string({ unit: 'binary', maxLength: 40 }),
    fc.string({ minLength: 250, maxLength: 300 }),
    fc.integer(),
    fc.maxSafeInteger(),
    fc.double(),
    fc.constantFrom(0, -0, 127, 128, -32, -33, 2 ** 32, 2 ** 53, -(2 ** 53), 2 ** 31, -(2 ** 31) - 1),
    fc.boolean(),
    fc.uint8Array({ maxLength: 40 }),
  ),
  array: fc.array(tie('key'), { maxLength: 20 }),
  object: fc.dictionary(
    fc.string({ unit: 'binary', maxLength: 12 }).filter((s) => s !== '__proto__'),
    tie('key'),
    { maxKeys: 20 },
  ),
}));

/** The same object graph with every object's properties inserted in reverse order. */
function reversedProps(key: unknown): unknown {
  if (Array.isArray(key)) return key.map(reversedProps);
  if (key instanceof Uint8Array || typeof key !== 'object' || key === null) return key;
  const entries = Object.entries(key).reverse();
  return Object.fromEntries(entries.map(([k, v]) => [k, reversedProps(v)]));
}

/** Key equality as the encoding defines it: -0 is 0, NaN is NaN, bytes by content. */
function sameKey(a: unknown, b: unknown): boolean {
  if (typeof a === 'number' && typeof b === 'number') return a === b || (Number.isNaN(a) && Number.isNaN(b));
  if (a instanceof Uint8Array || b instanceof Uint8Array) {
    return a instanceof Uint8Array && b instanceof Uint8Array && Buffer.from(a).equals(Buffer.from(b));
  }
  if (Array.isArray(a) || Array.isArray(b)) {
    return Array.isArray(a) && Array.isArray(b) && a.length === b.length && a.every((x, i) => sameKey(x, b[i]));
  }
  if (typeof a === 'object' && typeof b === 'object' && a !== null && b !== null) {
    const ka = Object.keys(a).sort();
    const kb = Object.keys(b).sort();
    const ra = a as Record<string, unknown>;
    const rb = b as Record<string, unknown>;
    return ka.length === kb.length && ka.every((k, i) => k === kb[i] && sameKey(ra[k], rb[k]));
  }
  return a === b;
}

describe('encodeCanonicalKey: exact bytes', () => {
  it.each([
    [0, '00'], [-0, '00'], [127, '7f'], [128, 'cc80'], [255, 'ccff'], [256, 'cd0100'], [65535, 'cdffff'],
    [65536, 'ce00010000'], [2 ** 32 - 1, 'ceffffffff'], [2 ** 32, 'cf0000000100000000'],
    [2 ** 53 - 1, 'cf001fffffffffffff'], [-1, 'ff'], [-32, 'e0'], [-33, 'd0df'], [-128, 'd080'],
    [-129, 'd1ff7f'], [-32768, 'd18000'], [-32769, 'd2ffff7fff'], [-(2 ** 31), 'd280000000'],
    [-(2 ** 31) - 1, 'd3ffffffff7fffffff'], [-(2 ** 53 - 1), 'd3ffe0000000000001'],
    [1.5, 'cb3ff8000000000000'], [2 ** 53, 'cb4340000000000000'], [-(2 ** 53), 'cbc340000000000000'],
    [NaN, 'cb7ff8000000000000'], [Infinity, 'cb7ff0000000000000'], [-Infinity, 'cbfff0000000000000'],
    [false, 'c2'], [true, 'c3'], ['', 'a0'], ['a', 'a161'], ['€', 'a3e282ac'], ['😀', 'a4f09f9880'],
    [[], '90'], [{}, '80'], [new Uint8Array(0), 'c400'], [Buffer.from([1, 2]), 'c4020102'],
    [[1, 'a'], '9201a161'], [{ b: 1, a: [true] }, '82a16191c3a16201'],
  ])('%o encodes as %s', (key, expected) => {
    expect(hex(key)).toBe(expected);
  });

  it('canonicalises NaN payloads', () => {
    const odd = new Float64Array(new BigUint64Array([0x7ff8_0000_0000_0001n]).buffer)[0]!;
    expect(Number.isNaN(odd)).toBe(true);
    expect(hex(odd)).toBe('cb7ff8000000000000');
  });

  it.each([
    // [UTF-8 byte length, header]
    [31, 'bf'],
    [32, 'd920'],
    [255, 'd9ff'],
    [256, 'da0100'],
    [65535, 'daffff'],
    [65536, 'db00010000'],
  ])('uses the shortest string header at %i bytes', (len, header) => {
    for (const s of ['a'.repeat(len), '€'.repeat(Math.floor(len / 3)) + 'b'.repeat(len % 3)]) {
      const bytes = encodeCanonicalKey(s);
      expect(Buffer.from(bytes.subarray(0, header.length / 2)).toString('hex')).toBe(header);
      expect(Buffer.from(bytes.subarray(header.length / 2)).equals(Buffer.from(s, 'utf8'))).toBe(true);
    }
  });

  it('sizes headers by UTF-8 bytes, not UTF-16 units', () => {
    expect(hex('€'.repeat(10))).toBe('be' + 'e282ac'.repeat(10)); // 30 bytes
    expect(hex('€'.repeat(11))).toBe('d921' + 'e282ac'.repeat(11)); // 33 bytes from 11 units
    expect(hex('😀'.repeat(8))).toBe('d920' + 'f09f9880'.repeat(8)); // 32 bytes from 16 units
    expect(hex('x'.repeat(100))).toBe('d964' + '78'.repeat(100)); // reserved str16, slid back
  });

  it.each([
    [0, 'c400'],
    [255, 'c4ff'],
    [256, 'c50100'],
    [65535, 'c5ffff'],
    [65536, 'c600010000'],
  ])('uses the shortest bin header at %i bytes', (len, header) => {
    const bytes = encodeCanonicalKey(new Uint8Array(len).fill(7));
    expect(Buffer.from(bytes.subarray(0, header.length / 2)).toString('hex')).toBe(header);
    expect(bytes.length).toBe(header.length / 2 + len);
  });

  it.each([
    [15, '9f'],
    [16, 'dc0010'],
    [65535, 'dcffff'],
    [65536, 'dd00010000'],
  ])('uses the shortest array header at %i elements', (n, header) => {
    const bytes = encodeCanonicalKey(new Array<number>(n).fill(1));
    expect(Buffer.from(bytes.subarray(0, header.length / 2)).toString('hex')).toBe(header);
    expect(bytes.length).toBe(header.length / 2 + n);
  });

  it.each([
    [15, '8f'],
    [16, 'de0010'],
    [65536, 'df00010000'],
  ])('uses the shortest map header at %i entries', (n, header) => {
    const obj = Object.fromEntries(Array.from({ length: n }, (_, i) => [`k${i}`, 0]));
    const bytes = encodeCanonicalKey(obj);
    expect(Buffer.from(bytes.subarray(0, header.length / 2)).toString('hex')).toBe(header);
  });

  it('sorts properties by UTF-8 bytes: prefixes first, code points not UTF-16 units', () => {
    expect(hex({ ab: 1, a: 2, B: 3 })).toBe('83a14203a16102a2616201');
    // U+E000 sorts before U+1F600 in UTF-8 (ee.. < f0..), after it in UTF-16 (e000 > d83d).
    expect(hex({ '😀': 1, '\ue000': 2 })).toBe('82a3ee808002a4f09f988001');
    expect(hex({ '10': 1, '9': 2, '1': 3 })).toBe('83a13103a2313001a13902');
  });

  it('accepts null-prototype objects and Buffers like plain objects and Uint8Arrays', () => {
    const bare = Object.assign(Object.create(null) as object, { a: 1 });
    expect(hex(bare)).toBe(hex({ a: 1 }));
    expect(hex(Buffer.from('hi'))).toBe(hex(Uint8Array.of(0x68, 0x69)));
  });
});

describe('encodeCanonicalKey: invalid keys', () => {
  class Point {
    x = 1;
  }
  const cyclicArray: unknown[] = [1];
  cyclicArray.push(cyclicArray);
  const cyclicObject: Record<string, unknown> = {};
  cyclicObject['self'] = { again: cyclicObject };
  let deep: unknown = 1;
  for (let i = 0; i < 33; i++) deep = [deep];

  it.each<[string, unknown, RegExp]>([
    ['undefined', undefined, /^invalid key: undefined at key; keys may be strings, numbers/],
    ['null', [1, { user: null }], /null at key\[1\]\.user;/],
    ['undefined inside', [1, { user: undefined }], /undefined at key\[1\]\.user;/],
    ['a hole', [1, , 3], /undefined at key\[1\];/],
    ['bigint', { n: 1n }, /a bigint at key\.n;/],
    ['symbol', [Symbol('s')], /a symbol at key\[0\];/],
    ['function', { f: () => 1 }, /a function at key\.f;/],
    ['Date', { 'a b': [new Date(0)] }, /an instance of Date at key\["a b"\]\[0\];/],
    ['Map', new Map(), /an instance of Map at key;/],
    ['Set', [new Set()], /an instance of Set at key\[0\];/],
    ['class instance', { p: new Point() }, /an instance of Point at key\.p;/],
    ['other typed array', Int8Array.of(1), /an instance of Int8Array at key;/],
    ['clamped array', Uint8ClampedArray.of(1), /an instance of Uint8ClampedArray at key;/],
    ['ArrayBuffer', new ArrayBuffer(1), /an instance of ArrayBuffer at key;/],
    ['boxed string', new String('x'), /an instance of String at key;/],
    ['lone high surrogate', 'a\ud800b', /lone surrogate \(not valid Unicode\) at key;/],
    ['lone low surrogate', ['\udc00'], /lone surrogate \(not valid Unicode\) at key\[0\];/],
    ['high surrogate at the end', 'x'.repeat(40) + '\ud83d', /lone surrogate \(not valid Unicode\) at key;/],
    ['lone surrogate in a long string', ['\ud800' + 'y'.repeat(100)], /lone surrogate \(not valid Unicode\) at key\[0\];/],
    ['lone surrogate in a name', { ok: 1, ['bad\udfff']: 2 }, /lone surrogate \(not valid Unicode\) at key\["bad\\udfff"\];/],
    ['symbol keys', { a: 1, [Symbol('s')]: 2 }, /an object with symbol keys at key;/],
    ['__proto__ as a name', JSON.parse('{"x":{"__proto__":1}}'), /a property named __proto__ at key\.x\.__proto__;/],
    ['a cyclic array', cyclicArray, /a cycle .* at key\[1\];/],
    ['a cyclic object', cyclicObject, /a cycle .* at key\.self\.again;/],
    ['nesting 33 deep', deep, /nesting deeper than 32 levels at key(\[0\]){32};/],
  ])('refuses %s, naming the path', (_, key, message) => {
    let thrown: unknown;
    try {
      encodeCanonicalKey(key);
    } catch (err) {
      thrown = err;
    }
    expect(thrown).toBeInstanceOf(InvalidKeyError);
    expect(thrown).toBeInstanceOf(UserError);
    expect((thrown as Error).message).toMatch(message);
    expect((thrown as Error).message).toContain('keys may be strings, numbers, booleans, Uint8Array, arrays');
  });

  it('accepts nesting exactly 32 deep and surrogate pairs', () => {
    let ok: unknown = 1;
    for (let i = 0; i < 32; i++) ok = { a: ok };
    expect(() => encodeCanonicalKey(ok)).not.toThrow();
    expect(() => encodeCanonicalKey('😀'.repeat(50))).not.toThrow();
  });

  it('accepts the same object twice when it is not its own ancestor', () => {
    const shared = { a: 1 };
    expect(hex([shared, shared])).toBe('9281a1610181a16101');
  });
});

describe('CanonicalKeyEncoder', () => {
  it('returns a view that the next call reuses, while encodeCanonicalKey copies', () => {
    const encoder = new CanonicalKeyEncoder();
    const first = encoder.encode('abc');
    const copy = encodeCanonicalKey('abc');
    encoder.encode('xyz');
    expect(Buffer.from(first).toString('hex')).toBe('a378797a');
    expect(Buffer.from(copy).toString('hex')).toBe('a3616263');
  });

  it('grows for large keys and stays correct afterwards, including after an error', () => {
    const encoder = new CanonicalKeyEncoder();
    const big = ['z'.repeat(100_000), new Uint8Array(5000)];
    expect(bytesEqual(encoder.encode(big), encodeCanonicalKey(big))).toBe(true);
    expect(() => encoder.encode([1, [2, undefined]])).toThrow(InvalidKeyError);
    expect(Buffer.from(encoder.encode([1, 'a'])).toString('hex')).toBe('9201a161');
  });
});

describe('decodeCanonicalKey', () => {
  it('round-trips arbitrary keys: decode then encode gives the same bytes', () => {
    fc.assert(
      fc.property(arbKey, (key) => {
        const bytes = encodeCanonicalKey(key);
        const decoded = decodeCanonicalKey(bytes);
        expect(bytesEqual(encodeCanonicalKey(decoded), bytes)).toBe(true);
        expect(sameKey(decoded, key)).toBe(true);
      }),
      { numRuns: 500 },
    );
  });

  it('decodes binary to an independent Uint8Array', () => {
    const bytes = new Uint8Array(encodeCanonicalKey({ b: Uint8Array.of(0, 255) }));
    const decoded = decodeCanonicalKey(bytes) as { b: Uint8Array };
    expect(decoded.b).toBeInstanceOf(Uint8Array);
    expect([...decoded.b]).toEqual([0, 255]);
    bytes.fill(0);
    expect([...decoded.b]).toEqual([0, 255]);
  });

  it.each([
    ['a non-shortest integer', 'cc05'],
    ['a float holding an integer', 'cb3ff0000000000000'],
    ['a float32', 'ca3fc00000'],
    ['a NaN with a payload', 'cb7ff8000000000001'],
    ['an unsafe uint64', 'cf0020000000000000'],
    ['a str8 for a short string', 'd90161'],
    ['a bin16 for short bytes', 'c5000100'],
    ['an array16 for a short array', 'dc000101'],
    ['unsorted map keys', '82a16201a16102'],
    ['duplicate map keys', '82a16101a16102'],
    ['a map with an integer key', '810102'],
    ['trailing bytes', '0102'],
    ['nil', 'c0'],
    ['an extension (timestamp)', 'd6ff00000000'],
    ['invalid UTF-8', 'a2c328'],
    ['a truncated string', 'a561'],
    ['nothing at all', ''],
  ])('refuses %s', (_, h) => {
    expect(() => decodeCanonicalKey(fromHex(h))).toThrow(InvalidKeyError);
  });
});

describe('the encoding as a function of keys', () => {
  it('does not depend on property insertion order', () => {
    fc.assert(
      fc.property(arbKey, (key) => bytesEqual(encodeCanonicalKey(key), encodeCanonicalKey(reversedProps(key)))),
      { numRuns: 300 },
    );
  });

  it('never maps different keys to the same bytes', () => {
    fc.assert(
      fc.property(arbKey, arbKey, (a, b) => {
        expect(bytesEqual(encodeCanonicalKey(a), encodeCanonicalKey(b))).toBe(sameKey(a, b));
      }),
      { numRuns: 500 },
    );
    const lookalikes: unknown[] = [
      1, '1', [1], true, { 1: 1 }, { '1': true }, Uint8Array.of(1), [true], ['1'], 1.5, '1.5',
      0, '', false, [], {}, new Uint8Array(0), [[]], [{}], [0], { '': 0 }, 'true', 'false', NaN, 'NaN',
    ];
    const seen = new Set(lookalikes.map(hex));
    expect(seen.size).toBe(lookalikes.length);
  });
});

describe('compareBytes and bytesEqual', () => {
  it('orders unsigned and lexicographically, proper prefixes first', () => {
    expect(compareBytes(Uint8Array.of(0x7f), Uint8Array.of(0x80))).toBeLessThan(0);
    expect(compareBytes(Uint8Array.of(1, 2), Uint8Array.of(1, 2, 0))).toBeLessThan(0);
    expect(compareBytes(Uint8Array.of(2), Uint8Array.of(1, 9))).toBeGreaterThan(0);
    expect(compareBytes(new Uint8Array(0), new Uint8Array(0))).toBe(0);
  });

  it('agrees with Buffer.compare and Buffer.equals', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 6 }), fc.uint8Array({ maxLength: 6 }), (a, b) => {
        expect(Math.sign(compareBytes(a, b))).toBe(Buffer.compare(Buffer.from(a), Buffer.from(b)));
        expect(bytesEqual(a, b)).toBe(Buffer.from(a).equals(Buffer.from(b)));
        expect(compareBytes(a, a)).toBe(0);
        expect(bytesEqual(a, Uint8Array.from(a))).toBe(true);
      }),
      { numRuns: 1000 },
    );
  });
});
