/**
 * The PostgreSQL sink's gids and its choice of strays, as properties: a gid parses back to what
 * made it, fits PostgreSQL's 200 bytes, never equals another's (in particular, an end-of-input
 * gid never equals a checkpoint's); recovery rolls back only gids it owns and never one a
 * restored pending list will commit.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { restoredFacts, straysToRollBack } from '../../../src/engine/connectors/postgres-recovery.ts';
import {
  type TransactionPoint,
  formatTransactionId,
  jobPart,
  operatorPart,
  parseTransactionId,
  transactionIdPrefix,
} from '../../../src/engine/connectors/postgres-transaction-id.ts';

const jobId = fc.oneof(fc.stringMatching(/^[0-9a-f]{32}$/), fc.string({ unit: 'grapheme', minLength: 1, maxLength: 100 }));
const uid = fc.string({ unit: 'grapheme', minLength: 1, maxLength: 300 });
const id = fc.oneof(fc.nat(1000), fc.maxSafeNat());
const point: fc.Arbitrary<TransactionPoint> = fc.oneof(
  id.map((checkpointId) => ({ kind: 'checkpoint', checkpointId }) as const),
  id.map((after) => ({ kind: 'end-of-input', after }) as const),
);
const gidInput = fc.record({ jobId, uid, subtask: fc.nat(32_767), point });

describe('postgres sink transaction ids', () => {
  it('parse back to their parts, start with the job and operator prefix, and fit in 200 bytes', () => {
    fc.assert(
      fc.property(gidInput, ({ jobId, uid, subtask, point }) => {
        const gid = formatTransactionId(jobId, uid, subtask, point);
        expect(Buffer.byteLength(gid, 'utf8')).toBeLessThanOrEqual(150);
        expect(gid.startsWith(transactionIdPrefix(jobId, uid))).toBe(true);
        expect(parseTransactionId(gid)).toEqual({ job: jobPart(jobId), operator: operatorPart(uid), subtask, point });
      }),
    );
  });

  it('differ whenever their inputs differ', () => {
    fc.assert(
      fc.property(gidInput, gidInput, (a, b) => {
        fc.pre(JSON.stringify(a) !== JSON.stringify(b));
        expect(formatTransactionId(a.jobId, a.uid, a.subtask, a.point)).not.toBe(formatTransactionId(b.jobId, b.uid, b.subtask, b.point));
      }),
    );
    // The same numbers as a checkpoint and as an end of input.
    const job = 'a'.repeat(32);
    expect(formatTransactionId(job, 'sink', 0, { kind: 'checkpoint', checkpointId: 7 })).toBe(`tsflink:${job}:${operatorPart('sink')}:0:7`);
    expect(formatTransactionId(job, 'sink', 0, { kind: 'end-of-input', after: 7 })).toBe(`tsflink:${job}:${operatorPart('sink')}:0:end-after-7`);
  });

  it('keep plain job ids readable and hash the others', () => {
    expect(jobPart('0123456789abcdef0123456789abcdef')).toBe('0123456789abcdef0123456789abcdef');
    expect(jobPart('job:with:colons')).toMatch(/^~[0-9a-f]{32}$/);
    expect(jobPart('x'.repeat(65))).toMatch(/^~[0-9a-f]{32}$/);
  });

  it('parse nothing that this sink did not write', () => {
    for (const gid of ['', 'tsflink:', 'other:job:0:1', `tsflink:job:${'0'.repeat(32)}:01:1`, `tsflink:job:${'0'.repeat(32)}:0:end-7`, `tsflink:job:${'0'.repeat(31)}:0:1`]) {
      expect(parseTransactionId(gid), gid).toBeUndefined();
    }
    fc.assert(
      fc.property(fc.string(), (s) => {
        fc.pre(!s.startsWith('tsflink:'));
        expect(parseTransactionId(s)).toBeUndefined();
      }),
    );
  });
});

describe('postgres sink recovery', () => {
  const facts = fc.record({
    parallelism: fc.integer({ min: 1, max: 4 }),
    prepared: fc.array(fc.record({ job: fc.constantFrom('job-a', 'job-b', 'job-c'), op: fc.constantFrom('sink', 'other'), subtask: fc.nat(3), point }), { maxLength: 30 }),
    keepRatio: fc.double({ min: 0, max: 1, noNaN: true }),
  });

  it('rolls back exactly the owned gids of the restored jobs and operator that no pending list keeps', () => {
    fc.assert(
      fc.property(facts, ({ parallelism, prepared, keepRatio }) => {
        const gids = prepared.map((p) => ({ ...p, gid: formatTransactionId(p.job, p.op, p.subtask, p.point) }));
        const keep = new Set(gids.filter((_, i) => i < gids.length * keepRatio).map((g) => g.gid));
        const byIndex = Array.from({ length: parallelism }, (_, me) => straysToRollBack({ prepared: gids.map((g) => g.gid), jobIds: ['job-a', 'job-b'], operatorUid: 'sink', subtaskIndex: me, parallelism, keep }));
        const all = byIndex.flat();
        expect(new Set(all).size).toBe(all.length); // one owner each
        const expected = new Set(gids.filter((g) => g.job !== 'job-c' && g.op === 'sink' && !keep.has(g.gid)).map((g) => g.gid));
        expect(new Set(all)).toEqual(expected);
        for (const [me, strays] of byIndex.entries()) for (const gid of strays) expect(parseTransactionId(gid)!.subtask % parallelism).toBe(me);
      }),
    );
  });

  it('reads the restored checkpoint id, jobs and every pending gid from the union state', () => {
    expect(restoredFacts([])).toEqual({ checkpointId: 0, jobIds: [], pending: new Set() });
    const restored = restoredFacts([
      { subtask: 0, jobId: 'job-a', checkpointId: 5, pending: ['g1', 'g2'] },
      { subtask: 1, jobId: 'job-a', checkpointId: 5, pending: ['g3'] },
    ]);
    expect(restored).toEqual({ checkpointId: 5, jobIds: ['job-a'], pending: new Set(['g1', 'g2', 'g3']) });
  });
});
