import { describe, expect, it } from 'vitest';
import { normalizeFlinkFlags, runFlagSpellings } from './run-flags.ts';

describe('normalizeFlinkFlags', () => {
  it.each([
    [['run', '-rm', 'claim', '-s', '/sp', 'job.ts'], ['run', '--restoreMode', 'claim', '-s', '/sp', 'job.ts']],
    [['run', '-claimMode', 'claim', 'job.ts'], ['run', '--claimMode', 'claim', 'job.ts']],
    [['run', '-restoreMode', 'no_claim', 'job.ts'], ['run', '--restoreMode', 'no_claim', 'job.ts']],
    // After the job file everything is the job's: left as written.
    [['run', '-p', '2', 'job.ts', '-rm', 'x', '-claimMode'], ['run', '-p', '2', 'job.ts', '-rm', 'x', '-claimMode']],
    // The value of a flag is not the job file, even when it looks like one of the spellings.
    [['run', '-D', 'a=b', '-s', '-rm', 'job.ts', '-rm'], ['run', '-D', 'a=b', '-s', '-rm', 'job.ts', '-rm']],
    [['savepoint', '-rm', 'x'], ['savepoint', '-rm', 'x']],
    // Flink's documented `flink checkpoint $JOB_ID -full`, before or after the job id; a value of -D or -m is left alone.
    [['checkpoint', 'a'.repeat(32), '-full'], ['checkpoint', 'a'.repeat(32), '--full']],
    [['checkpoint', '-full', '-m', 'h:1', 'a'.repeat(32)], ['checkpoint', '--full', '-m', 'h:1', 'a'.repeat(32)]],
    [['checkpoint', '-D', '-full', 'a'.repeat(32)], ['checkpoint', '-D', '-full', 'a'.repeat(32)]],
    [['savepoint', '-full'], ['savepoint', '-full']],
  ])('%j -> %j', (argv, expected) => {
    expect(normalizeFlinkFlags(argv)).toEqual(expected);
  });
});

describe('runFlagSpellings', () => {
  it('maps the flags before the job file to their spelling as typed, the last one winning', () => {
    expect(Object.fromEntries(runFlagSpellings(['run', '-rm', 'claim', '--claimMode=no_claim', '-D', 'a=b', '-restoreMode', 'x', 'job.ts', '-claimMode', 'y']))).toEqual({
      '--restoreMode': '-restoreMode',
      '--claimMode': '--claimMode',
      '-D': '-D',
    });
    expect(runFlagSpellings(['list', '-rm', 'x']).size).toBe(0);
  });
});
