import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import type { CheckpointDirScan, ScannedCheckpoint, ScannedState } from './checkpoint-dir-scan.ts';
import { type GcOptions, normalLocation, planGc } from './gc-plan.ts';

const ROOT = '/data/checkpoints';
const JOB = 'aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa';
const OTHER = 'bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb';
const NOW = Date.UTC(2026, 11, 6, 12);
const HOUR = 3_600_000;

function chk(jobId: string, id: number, state: ScannedState = 'complete', overrides: Partial<ScannedCheckpoint> = {}): ScannedCheckpoint {
  const path = `${jobId}/chk-${id}`;
  return {
    path,
    location: `${ROOT}/${path}`,
    jobId,
    checkpointId: id,
    files: 3,
    bytes: 100 * id,
    state,
    createdAt: state === 'abandoned' ? null : NOW - (10 - id) * HOUR,
    problem: state === 'damaged' ? 'x.tsfs: size is 1 bytes, _metadata says 9' : null,
    references: state === 'abandoned' ? null : [`${path}/x.tsfs`],
    ...overrides,
  };
}

const scan = (checkpoints: ScannedCheckpoint[], shared: CheckpointDirScan['shared'] = []): CheckpointDirScan => ({ location: ROOT, checkpoints, shared, savepoints: [], other: [] });
const options = (o: Partial<GcOptions> = {}): GcOptions => ({ now: NOW, running: null, ...o });
const actions = (s: CheckpointDirScan, o: Partial<GcOptions> = {}) => planGc(s, options(o)).items.map((i) => [i.path, i.action]);

describe('planGc', () => {
  it('deletes abandoned and damaged checkpoints, keeps retained ones when no retention is asked for', () => {
    const plan = planGc(scan([chk(JOB, 1, 'abandoned'), chk(JOB, 2, 'damaged'), chk(JOB, 3)]), options());
    expect(plan.items.map((i) => [i.path, i.action, i.reason])).toEqual([
      [`${JOB}/chk-1`, 'delete', 'abandoned: no _metadata'],
      [`${JOB}/chk-2`, 'delete', 'damaged: x.tsfs: size is 1 bytes, _metadata says 9'],
      [`${JOB}/chk-3`, 'keep', 'retained (give --keep or --older-than to delete retained checkpoints)'],
    ]);
    expect(plan.deletes).toEqual({ checkpoints: 2, sharedFiles: 0, bytes: 300 });
  });

  it('--keep keeps the newest n complete checkpoints of each job; damaged ones do not count', () => {
    const s = scan([chk(JOB, 1), chk(JOB, 2), chk(JOB, 3), chk(JOB, 4, 'damaged'), chk(OTHER, 7)]);
    expect(actions(s, { keep: 2 })).toEqual([
      [`${JOB}/chk-1`, 'delete'],
      [`${JOB}/chk-2`, 'keep'],
      [`${JOB}/chk-3`, 'keep'],
      [`${JOB}/chk-4`, 'delete'],
      [`${OTHER}/chk-7`, 'keep'],
    ]);
    expect(actions(s, { keep: 0 }).filter(([, a]) => a === 'keep')).toEqual([]);
  });

  it('--older-than deletes complete checkpoints created before now - D; with --keep, either keeps', () => {
    // chk-n was created (10 - n) hours ago.
    const s = scan([chk(JOB, 1), chk(JOB, 5), chk(JOB, 8), chk(JOB, 9)]);
    const olderThan = { ms: 3 * HOUR, text: '3 h' };
    expect(actions(s, { olderThan })).toEqual([
      [`${JOB}/chk-1`, 'delete'],
      [`${JOB}/chk-5`, 'delete'],
      [`${JOB}/chk-8`, 'keep'],
      [`${JOB}/chk-9`, 'keep'],
    ]);
    expect(actions(s, { olderThan, keep: 3 })).toEqual([
      [`${JOB}/chk-1`, 'delete'],
      [`${JOB}/chk-5`, 'keep'],
      [`${JOB}/chk-8`, 'keep'],
      [`${JOB}/chk-9`, 'keep'],
    ]);
    expect(planGc(s, options({ olderThan, keep: 1 })).items[0]!.reason).toBe('retained, beyond the newest 1 and older than 3 h');
  });

  it('never deletes savepoints or checkpoints it cannot read', () => {
    expect(actions(scan([chk(JOB, 1, 'savepoint'), chk(JOB, 2, 'unreadable', { references: null })]), { keep: 0, olderThan: { ms: 0, text: '0 ms' } })).toEqual([
      [`${JOB}/chk-1`, 'keep'],
      [`${JOB}/chk-2`, 'keep'],
    ]);
  });

  it("a running job keeps its latest checkpoint (even damaged), its restore point, and checkpoints in progress", () => {
    const s = scan([chk(OTHER, 3), chk(JOB, 4), chk(JOB, 5, 'damaged'), chk(JOB, 6, 'abandoned')]);
    const running = [{ jobId: JOB, latestCheckpointId: 5, latestPath: `file:${ROOT}/${JOB}/chk-5`, restoredPath: `file://${ROOT}/${OTHER}/chk-3/_metadata` }];
    const plan = planGc(s, options({ keep: 0, running }));
    expect(plan.items.map((i) => [i.path, i.action, i.reason])).toEqual([
      [`${OTHER}/chk-3`, 'keep', `the restore point of running job ${JOB}`],
      [`${JOB}/chk-4`, 'delete', 'retained, beyond the newest 0'],
      [`${JOB}/chk-5`, 'keep', `the latest checkpoint of running job ${JOB}`],
      [`${JOB}/chk-6`, 'keep', 'newer than the latest checkpoint its running job reported (in progress or just completed)'],
    ]);
  });

  it('a job listed twice (asked before and after the scan): both latests kept, newer counted from the older', () => {
    const s = scan([chk(JOB, 3), chk(JOB, 4), chk(JOB, 5), chk(JOB, 6), chk(JOB, 7)]);
    const running = [
      { jobId: JOB, latestCheckpointId: 4, latestPath: null, restoredPath: null },
      { jobId: JOB, latestCheckpointId: 6, latestPath: null, restoredPath: null },
    ];
    expect(planGc(s, options({ keep: 0, running })).items.map((i) => [i.path, i.action, i.reason.split(' ')[0]])).toEqual([
      [`${JOB}/chk-3`, 'delete', 'retained,'],
      [`${JOB}/chk-4`, 'keep', 'the'],
      [`${JOB}/chk-5`, 'keep', 'newer'],
      [`${JOB}/chk-6`, 'keep', 'the'],
      [`${JOB}/chk-7`, 'keep', 'newer'],
    ]);
  });

  it('shared files: deleted when no remaining checkpoint references them, kept for a running job', () => {
    const shared = [
      { key: `${JOB}/shared/used`, jobId: JOB, size: 5 },
      { key: `${JOB}/shared/orphan`, jobId: JOB, size: 7 },
      { key: `${JOB}/shared/only-in-deleted`, jobId: JOB, size: 11 },
      { key: `${OTHER}/shared/x`, jobId: OTHER, size: 13 },
    ];
    const s = scan([chk(JOB, 1, 'complete', { references: [`${JOB}/shared/only-in-deleted`] }), chk(JOB, 2, 'complete', { references: [`${JOB}/shared/used`] }), chk(OTHER, 1)], shared);
    const running = [{ jobId: OTHER, latestCheckpointId: 1, latestPath: null, restoredPath: null }];
    const plan = planGc(s, options({ keep: 1, running }));
    expect(plan.items.filter((i) => i.kind === 'shared-file').map((i) => [i.path, i.action, i.reason])).toEqual([
      [`${JOB}/shared/used`, 'keep', `referenced by ${JOB}/chk-2`],
      [`${JOB}/shared/orphan`, 'delete', 'referenced by no remaining checkpoint'],
      [`${JOB}/shared/only-in-deleted`, 'delete', 'referenced by no remaining checkpoint'],
      [`${OTHER}/shared/x`, 'keep', 'its job is running: its next checkpoint may reference it'],
    ]);
    expect(plan.deletes).toEqual({ checkpoints: 1, sharedFiles: 2, bytes: 100 + 7 + 11 });
  });

  it('keeps shared files of a job whose remaining checkpoint cannot be read', () => {
    const s = scan([chk(JOB, 1, 'unreadable', { references: null })], [{ key: `${JOB}/shared/f`, jobId: JOB, size: 1 }]);
    expect(planGc(s, options()).items[1]!.action).toBe('keep');
  });

  it('never deletes what a running job needs, whatever the options (property)', () => {
    const state = fc.constantFrom<ScannedState>('complete', 'abandoned', 'damaged', 'savepoint', 'unreadable');
    fc.assert(
      fc.property(
        fc.uniqueArray(fc.record({ id: fc.integer({ min: 1, max: 30 }), state }), { selector: (c) => c.id, minLength: 1 }),
        fc.integer({ min: 1, max: 30 }),
        fc.option(fc.nat({ max: 5 })),
        fc.option(fc.nat({ max: 20 * HOUR })),
        (checkpoints, latest, keep, olderThanMs) => {
          const s = scan(checkpoints.map((c) => chk(JOB, c.id, c.state, { createdAt: c.state === 'abandoned' ? null : NOW - c.id * HOUR })));
          const running = [{ jobId: JOB, latestCheckpointId: latest, latestPath: null, restoredPath: null }];
          const plan = planGc(s, options({ running, ...(keep === null ? {} : { keep }), ...(olderThanMs === null ? {} : { olderThan: { ms: olderThanMs, text: `${olderThanMs} ms` } }) }));
          for (const item of plan.items) {
            const c = checkpoints.find((x) => `${JOB}/chk-${x.id}` === item.path)!;
            if (c.id >= latest || c.state === 'savepoint' || c.state === 'unreadable') expect(item.action).toBe('keep');
          }
        },
      ),
    );
  });
});

describe('normalLocation', () => {
  it('spells a local location one way, with or without file:, slashes or _metadata', () => {
    for (const l of ['/a/b/chk-1', '/a/b/chk-1/', 'file:/a/b/chk-1', 'file:///a/b/chk-1/_metadata', '/a//b/chk-1']) expect(normalLocation(l)).toBe('/a/b/chk-1');
    expect(normalLocation('s3://bucket/x/chk-1/')).toBe('s3://bucket/x/chk-1');
  });
});
