import { describe, expect, it } from 'vitest';
import { FormatError, UserError, describeError } from './errors.ts';

describe('describeError', () => {
  it('prints a one-line message as it is', () => {
    expect(describeError(new UserError('/tmp/x: no such file or directory'))).toBe('/tmp/x: no such file or directory');
    expect(describeError(new FormatError('/tmp/x/_metadata', 12, 'checksum mismatch'))).toBe('/tmp/x/_metadata at offset 12: checksum mismatch');
  });

  it('keeps the first line of a longer message and points at --verbose for the rest', () => {
    const err = new UserError('cannot load job.ts: Transform failed with 1 error:\njob.ts:3:7: ERROR: Expected ";"\n');
    expect(describeError(err)).toBe('cannot load job.ts: Transform failed with 1 error: (more with --verbose)');
    expect(describeError(new Error('\nboom\n  at x\n'))).toBe('internal error: boom (more with --verbose) (this is a bug in tsflink; run again with --verbose and report it)');
  });
});
