import { describe, expect, it } from 'vitest';
import { sameSetting } from './cluster-only-keys.ts';

describe('sameSetting', () => {
  it.each([
    ['1min', '60 s', true],
    ['50000', '50 s', true],
    ['FALSE', 'false', true],
    ['/tmp/a', '/tmp/a ', true],
    ['1min', '50 s', false],
    ['true', 'false', false],
    ['/tmp/a', '/tmp/b', false],
  ])('%s and %s: %s', (a, b, same) => {
    expect(sameSetting(a, b)).toBe(same);
  });
});
