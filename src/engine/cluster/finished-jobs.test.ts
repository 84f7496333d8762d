import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { UserError } from '../../errors.ts';
import { FinishedJobs, MAX_JOBSTORE_CAPACITY, jobStoreSettings, parseJobStoreExpiration, parseJobStoreMaxCapacity, parseJobStoreType } from './finished-jobs.ts';

const HOUR = 3_600_000;

/** Finished jobs on a clock the test moves. */
function store(expirationMs: number, maxCapacity = MAX_JOBSTORE_CAPACITY): { jobs: FinishedJobs; advance: (ms: number) => void; now: () => number } {
  let now = 5_000_000;
  return { jobs: new FinishedJobs({ expirationMs, maxCapacity }, () => now), advance: (ms) => void (now += ms), now: () => now };
}

describe('FinishedJobs', () => {
  it('keeps a finished job for the expiration time after it ended, then drops it', () => {
    const { jobs, advance, now } = store(HOUR);
    jobs.add('a', now());
    advance(HOUR - 1);
    expect(jobs.evict()).toEqual([]);
    advance(1);
    expect(jobs.evict()).toEqual([{ jobId: 'a', reason: 'expired' }]);
    expect(jobs.size).toBe(0);
    expect(jobs.evict()).toEqual([]);
  });

  it('counts from when each job ended, so later ones stay', () => {
    const { jobs, advance, now } = store(1000);
    jobs.add('a', now());
    advance(600);
    jobs.add('b', now());
    advance(400);
    expect(jobs.evict()).toEqual([{ jobId: 'a', reason: 'expired' }]);
    advance(599);
    expect(jobs.evict()).toEqual([]);
    advance(1);
    expect(jobs.evict()).toEqual([{ jobId: 'b', reason: 'expired' }]);
  });

  it('a job that ended before it was added (an earlier JobManager\'s) ages from its end', () => {
    const { jobs, now } = store(HOUR);
    jobs.add('old', now() - HOUR);
    jobs.add('recent', now() - HOUR + 1);
    expect(jobs.evict()).toEqual([{ jobId: 'old', reason: 'expired' }]);
  });

  it('beyond the capacity drops the ones that ended first', () => {
    const { jobs, now } = store(HOUR, 2);
    jobs.add('a', now());
    jobs.add('b', now());
    expect(jobs.evict()).toEqual([]);
    jobs.add('c', now());
    expect(jobs.evict()).toEqual([{ jobId: 'a', reason: 'capacity' }]);
    expect(jobs.size).toBe(2);
  });

  it('capacity 0 and expiration 0 each keep no finished job', () => {
    const none = store(HOUR, 0);
    none.jobs.add('a', none.now());
    expect(none.jobs.evict()).toEqual([{ jobId: 'a', reason: 'capacity' }]);
    const at = store(0);
    at.jobs.add('a', at.now());
    expect(at.jobs.evict()).toEqual([{ jobId: 'a', reason: 'expired' }]);
  });

  it('an infinite expiration keeps them for ever', () => {
    const { jobs, advance, now } = store(Number.POSITIVE_INFINITY);
    jobs.add('a', now());
    advance(Number.MAX_SAFE_INTEGER / 2);
    expect(jobs.evict()).toEqual([]);
  });

  it('keeps exactly the last `capacity` jobs that ended within the expiration time (property)', () => {
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 100 }), fc.integer({ min: 0, max: 5 }), fc.array(fc.integer({ min: 0, max: 50 }), { maxLength: 30 }), (expirationMs, capacity, gaps) => {
        const { jobs, advance, now } = store(expirationMs, capacity);
        const ended: { id: string; at: number }[] = [];
        const dropped = new Set<string>();
        gaps.forEach((gap, i) => {
          advance(gap);
          jobs.add(`j${i}`, now());
          ended.push({ id: `j${i}`, at: now() });
          for (const { jobId } of jobs.evict()) dropped.add(jobId);
        });
        const kept = ended.filter((e) => !dropped.has(e.id));
        const expected = ended.filter((e) => now() - e.at < expirationMs).slice(-capacity || ended.length);
        expect(kept.map((e) => e.id)).toEqual(capacity === 0 ? [] : expected.map((e) => e.id));
        expect(jobs.size).toBe(kept.length);
      }),
    );
  });
});

describe('jobstore keys', () => {
  it('defaults to Flink\'s: 3600 s, no capacity limit', () => {
    expect(jobStoreSettings({})).toEqual({ expirationMs: 3_600_000, maxCapacity: 2_147_483_647 });
    expect(jobStoreSettings({ 'jobstore.expiration-time': '60', 'jobstore.max-capacity': '10' })).toEqual({ expirationMs: 60_000, maxCapacity: 10 });
  });

  it('jobstore.expiration-time is whole seconds, as Flink 1.20\'s Long, up to Long.MAX_VALUE', () => {
    expect(parseJobStoreExpiration('jobstore.expiration-time', ' +0 ')).toBe(0);
    expect(parseJobStoreExpiration('jobstore.expiration-time', '9223372036854775807')).toBe(Number.POSITIVE_INFINITY);
    const refused = (value: string): string => {
      try {
        parseJobStoreExpiration('jobstore.expiration-time', value);
      } catch (err) {
        expect(err).toBeInstanceOf(UserError);
        expect((err as UserError).exitCode).toBe(1);
        return (err as Error).message;
      }
      throw new Error(`${value} was accepted`);
    };
    const range = "allowed: whole seconds from 0 to 9223372036854775807; Flink's key is a number of seconds, not a duration";
    expect(refused('1 h')).toBe(`jobstore.expiration-time: '1 h' is not a whole number of seconds (${range}): write 3600 for 1 h`);
    expect(refused('1h')).toBe(`jobstore.expiration-time: '1h' is not a whole number of seconds (${range}): write 3600 for 1h`);
    expect(refused('1.5')).toBe(`jobstore.expiration-time: '1.5' is not a whole number of seconds (${range})`);
    expect(refused('500 ms')).toBe(`jobstore.expiration-time: '500 ms' is not a whole number of seconds (${range})`);
    expect(refused('-1')).toBe(`jobstore.expiration-time: '-1' is out of range (${range})`);
    expect(refused('9223372036854775808')).toBe(`jobstore.expiration-time: '9223372036854775808' is out of range (${range})`);
  });

  it('jobstore.max-capacity is an int, 0 or more', () => {
    expect(parseJobStoreMaxCapacity('jobstore.max-capacity', '0')).toBe(0);
    expect(() => parseJobStoreMaxCapacity('jobstore.max-capacity', '-1')).toThrow("jobstore.max-capacity: '-1' is out of range (allowed: from 0 to 2147483647)");
    expect(() => parseJobStoreMaxCapacity('jobstore.max-capacity', '2147483648')).toThrow("jobstore.max-capacity: '2147483648' is out of range (allowed: from 0 to 2147483647)");
    expect(() => parseJobStoreMaxCapacity('jobstore.max-capacity', 'many')).toThrow("jobstore.max-capacity: 'many' is not a whole number (allowed: from 0 to 2147483647)");
  });

  it('jobstore.type is File in any case; Memory is refused saying what to use', () => {
    expect(parseJobStoreType('jobstore.type', 'file')).toBe('File');
    expect(() => parseJobStoreType('jobstore.type', 'Memory')).toThrow(/^jobstore\.type: 'Memory': tsflink keeps every job's record as a file .*; remove the key or set File, and bound finished jobs with jobstore\.expiration-time and jobstore\.max-capacity$/u);
    expect(() => parseJobStoreType('jobstore.type', 'Disk')).toThrow("jobstore.type: 'Disk' is not one of File, Memory");
  });
});
