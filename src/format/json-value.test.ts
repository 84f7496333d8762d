import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { UsageError } from '../errors.ts';
import { keyFromJsonText, toJson } from './json-value.ts';

/** The message keyFromJsonText refuses `text` with; fails the test when it accepts it. */
function refusal(text: string): string {
  try {
    keyFromJsonText(text);
  } catch (err) {
    expect(err).toBeInstanceOf(UsageError);
    expect((err as UsageError).exitCode).toBe(2);
    return (err as UsageError).message;
  }
  throw new Error(`accepted --key ${text}`);
}

describe('keyFromJsonText', () => {
  it('reads back every key as toJson prints it, tagged ones included', () => {
    const leaf = fc.oneof(
      fc.string(),
      fc.integer(),
      fc.boolean(),
      fc.constantFrom(Number.NaN, Number.POSITIVE_INFINITY, Number.NEGATIVE_INFINITY),
      fc.uint8Array({ maxLength: 8 }).map((b) => Buffer.from(b)),
    );
    const key = fc.oneof(leaf, fc.array(leaf, { maxLength: 3 }), fc.dictionary(fc.string().filter((k) => !k.startsWith('$') && k !== '__proto__'), leaf, { maxKeys: 3 }));
    fc.assert(
      fc.property(key, (k) => {
        expect(keyFromJsonText(JSON.stringify(toJson(k)))).toEqual(k);
      }),
    );
  });

  it('reads well-formed bigints, times and maps, and refuses them as what no key can be', () => {
    const allowed = 'keys may be strings, numbers, booleans, Uint8Array, arrays and plain objects of these';
    expect(refusal('{"$bigint":"18446744073709551616"}')).toBe(`--key '{"$bigint":"18446744073709551616"}': invalid key: a bigint at key; ${allowed}`);
    expect(refusal('{"$date":"1970-01-01T00:00:00.000Z"}')).toBe(`--key '{"$date":"1970-01-01T00:00:00.000Z"}': invalid key: an instance of Date at key; ${allowed}`);
    expect(refusal('[{"$map":[[1,2]]}]')).toMatch(/^--key '\[\{"\$map":\[\[1,2\]\]\}\]': invalid key: an instance of Map at /);
  });

  it.each([
    ['{"$bytes":"!!"}', `--key '{"$bytes":"!!"}': "!!" is not base64: bytes are {"$bytes": "<base64>"}, e.g. {"$bytes": "AAEC/w=="}`],
    ['{"$bytes":"AA=A"}', `--key '{"$bytes":"AA=A"}': "AA=A" is not base64: bytes are {"$bytes": "<base64>"}, e.g. {"$bytes": "AAEC/w=="}`],
    ['{"$bytes":5}', `--key '{"$bytes":5}': 5 is not base64: bytes are {"$bytes": "<base64>"}, e.g. {"$bytes": "AAEC/w=="}`],
    ['{"$bigint":"abc"}', `--key '{"$bigint":"abc"}': "abc" is not a whole number: integers are {"$bigint": "<decimal digits>"}, e.g. {"$bigint": "9007199254740993"}`],
    ['{"$bigint":"1.5"}', `--key '{"$bigint":"1.5"}': "1.5" is not a whole number: integers are {"$bigint": "<decimal digits>"}, e.g. {"$bigint": "9007199254740993"}`],
    ['{"$date":"nope"}', `--key '{"$date":"nope"}': "nope" is not an ISO-8601 time: timestamps are {"$date": "<ISO-8601>"}, e.g. {"$date": "2026-01-01T00:00:00.000Z"}`],
    ['{"$date":"2026-13-45T00:00:00Z"}', `--key '{"$date":"2026-13-45T00:00:00Z"}': "2026-13-45T00:00:00Z" is not an ISO-8601 time: timestamps are {"$date": "<ISO-8601>"}, e.g. {"$date": "2026-01-01T00:00:00.000Z"}`],
    ['{"$number":"abc"}', `--key '{"$number":"abc"}': "abc" is not one of "NaN", "Infinity", "-Infinity" (finite numbers are typed as they are, e.g. --key 42)`],
    ['{"$map":[[1]]}', `--key '{"$map":[[1]]}': [[1]] is not a list of [key, value] pairs: maps are {"$map": [[key, value], ...]}`],
    ['["a",{"$bytes":"!!"}]', `--key '["a",{"$bytes":"!!"}]': "!!" is not base64: bytes are {"$bytes": "<base64>"}, e.g. {"$bytes": "AAEC/w=="}`],
  ])('refuses %s in one line', (text, message) => {
    expect(refusal(text)).toBe(message);
  });

  it('accepts unpadded base64, and leaves objects with other keys as they are', () => {
    expect(keyFromJsonText('{"$bytes":"AAE"}')).toEqual(Buffer.from([0, 1]));
    expect(keyFromJsonText('{"$other":"x"}')).toEqual({ $other: 'x' });
    expect(keyFromJsonText('{"$bytes":"AA","n":1}')).toEqual({ $bytes: 'AA', n: 1 });
    // Not mistaken for a tag (it is the name of Object.prototype's accessor); the key check refuses it.
    expect(refusal('{"__proto__":1}')).toMatch(/^--key '\{"__proto__":1\}': invalid key: a property named __proto__ at /);
  });
});
