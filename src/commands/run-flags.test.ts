import { describe, expect, it } from 'vitest';
import { normalizeRunFlags } from './run-flags.ts';

describe('normalizeRunFlags', () => {
  it.each([
    [['run', '-rm', 'claim', '-s', '/sp', 'job.ts'], ['run', '--restoreMode', 'claim', '-s', '/sp', 'job.ts']],
    [['run', '-claimMode', 'claim', 'job.ts'], ['run', '--claimMode', 'claim', 'job.ts']],
    [['run', '-restoreMode', 'no_claim', 'job.ts'], ['run', '--restoreMode', 'no_claim', 'job.ts']],
    // After the job file everything is the job's: left as written.
    [['run', '-p', '2', 'job.ts', '-rm', 'x', '-claimMode'], ['run', '-p', '2', 'job.ts', '-rm', 'x', '-claimMode']],
    // The value of a flag is not the job file, even when it looks like one of the spellings.
    [['run', '-D', 'a=b', '-s', '-rm', 'job.ts', '-rm'], ['run', '-D', 'a=b', '-s', '-rm', 'job.ts', '-rm']],
    [['savepoint', '-rm', 'x'], ['savepoint', '-rm', 'x']],
  ])('%j -> %j', (argv, expected) => {
    expect(normalizeRunFlags(argv)).toEqual(expected);
  });
});
