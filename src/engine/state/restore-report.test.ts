import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import type { KeyGroupBlock, OperatorMeta, SnapshotMetadata } from '../../format/model.ts';
import { operatorIdFromUid } from '../../format/murmur3.ts';
import { type NewOperatorSpec, planRestore } from './restore-plan.ts';
import { restoreReport } from './restore-report.ts';

const LOCATION = '/tmp/savepoints/savepoint-012345-abcdefabcdef';

function block(keyGroup: number, length = 10): KeyGroupBlock {
  return { keyGroup, file: 0, offset: 16 + keyGroup * 100, length, entries: 1, crc: 0 };
}

function operator(uid: string, overrides: Partial<OperatorMeta> = {}): OperatorMeta {
  return { uid, id: operatorIdFromUid(uid), name: `${uid} name`, parallelism: 2, maxParallelism: 8, keyedStates: [], operatorStates: [], ...overrides };
}

function keyed(name: string, groups: readonly number[], kind: 'value' | 'list' = 'value'): OperatorMeta['keyedStates'][number] {
  const blocks = groups.map((g) => block(g, 10 + g));
  return { name, kind, schemaVersion: 1, ttl: null, entries: blocks.length, bytes: blocks.reduce((a, b) => a + b.length, 0), blocks };
}

function metadata(operators: readonly OperatorMeta[]): SnapshotMetadata {
  return {
    formatVersion: 2,
    kind: 'savepoint',
    type: 'canonical',
    jobId: '0123456789abcdef0123456789abcdef',
    jobName: 'job',
    checkpointId: 3,
    createdAt: 0,
    engine: 'tsflink 0.1.0',
    stats: { bytes: 0, entries: 0, durations: {} },
    files: [{ path: 'f.tsfs', size: 1 << 20 }],
    operators,
  };
}

const spec = (uid: string, overrides: Partial<NewOperatorSpec> = {}): NewOperatorSpec => ({ uid, parallelism: 3, maxParallelism: 8, ...overrides });

const report = (operators: readonly OperatorMeta[], specs: readonly NewOperatorSpec[], allowNonRestoredState = false) =>
  restoreReport({ location: LOCATION, metadata: metadata(operators), operators: specs, allowNonRestoredState });

describe('restoreReport', () => {
  it('rescaling 2 -> 3: each new subtask reads the blocks of its key groups and the partitions it gets', () => {
    const offsets = { name: 'offsets', kind: 'list' as const, mode: 'union' as const, schemaVersion: 1, entries: 3, bytes: 30, partitions: [{ file: 0, offset: 0, length: 12, entries: 1, crc: 0 }, { file: 0, offset: 12, length: 18, entries: 2, crc: 0 }] };
    const r = report([operator('counts', { keyedStates: [keyed('count', [0, 2, 3, 7])], operatorStates: [offsets] })], [spec('counts')]);
    expect(r.problems).toEqual([]);
    expect(r.operators).toEqual([
      { uid: 'counts', name: null, fate: 'matched', snapshotUid: 'counts', matchedBy: 'uid', parallelism: { snapshot: 2, job: 3 }, maxParallelism: { snapshot: 8, job: 8, effective: 8, verdict: 'same' }, problem: null },
    ]);
    // Key groups of 8 over 3 subtasks: [0,2], [3,5], [6,7].
    expect(r.subtasks).toEqual([
      { operator: 'counts', subtask: 0, keyGroups: { start: 0, end: 2 }, keyedBlocks: 2, keyedBytes: 10 + 12, operatorPartitions: 2, operatorBytes: 30 },
      { operator: 'counts', subtask: 1, keyGroups: { start: 3, end: 5 }, keyedBlocks: 1, keyedBytes: 13, operatorPartitions: 2, operatorBytes: 30 },
      { operator: 'counts', subtask: 2, keyGroups: { start: 6, end: 7 }, keyedBlocks: 1, keyedBytes: 17, operatorPartitions: 2, operatorBytes: 30 },
    ]);
    expect(r.states.map((s) => [s.scope, s.name, s.fate])).toEqual([
      ['keyed', 'count', 'kept'],
      ['operator', 'offsets', 'kept'],
    ]);
  });

  it('a dropped operator with state is a problem without allowNonRestoredState; one without state is skipped', () => {
    const ops = [operator('gone', { keyedStates: [keyed('s', [1])] }), operator('empty'), operator('kept')];
    const strict = report(ops, [spec('kept'), spec('fresh', { name: 'Fresh' } as Partial<NewOperatorSpec>)]);
    expect(strict.operators.map((o) => [o.uid, o.fate])).toEqual([
      ['kept', 'matched'],
      ['fresh', 'new'],
      ['gone', 'dropped'],
      ['empty', 'skipped'],
    ]);
    expect(strict.problems).toHaveLength(1);
    expect(strict.problems[0]).toMatch(/^Failed to rollback to checkpoint\/savepoint .*operator gone to the new program/);
    expect(strict.states).toEqual([expect.objectContaining({ operator: 'gone', name: 's', fate: 'dropped' })]);
    expect(report(ops, [spec('kept')], true).problems).toEqual([]);
  });

  it('max parallelism: adopted when the job leaves it at the default, a problem when it sets another', () => {
    const ops = [operator('a', { keyedStates: [keyed('s', [1])] })];
    const adopted = report(ops, [spec('a', { maxParallelism: 128, maxParallelismConfigured: false })]);
    expect(adopted.operators[0]!.maxParallelism).toEqual({ snapshot: 8, job: 128, effective: 8, verdict: 'adopted' });
    expect(adopted.problems).toEqual([]);
    const mismatch = report(ops, [spec('a', { maxParallelism: 64 })]);
    expect(mismatch.operators[0]!.maxParallelism).toEqual({ snapshot: 8, job: 64, effective: null, verdict: 'mismatch' });
    expect(mismatch.problems[0]).toMatch(/max parallelism 8, but the new job runs it with max parallelism 64/);
    expect(mismatch.subtasks).toEqual([]);
    expect(report(ops, [spec('a', { parallelism: 9, maxParallelism: 16 })]).operators[0]!.maxParallelism.verdict).toBe('below-parallelism');
  });

  it('declared states: a changed kind, a changed schema version, a new state', () => {
    const ops = [operator('a', { keyedStates: [keyed('x', [1]), keyed('y', [2])] })];
    const r = report(ops, [spec('a', { keyedStates: [{ name: 'x', kind: 'list' }, { name: 'y', kind: 'value', schemaVersion: 2 }, { name: 'z', kind: 'map' }] })]);
    expect(r.states.map((s) => [s.name, s.fate, s.kind, s.declaredKind, s.schemaVersion, s.declaredSchemaVersion])).toEqual([
      ['x', 'kind-changed', 'value', 'list', 1, null],
      ['y', 'schema-changed', 'value', 'value', 1, 2],
      ['z', 'new', null, 'map', null, null],
    ]);
    expect(r.problems[0]).toMatch(/keyed state 'x' of operator 'a'.*written as value state, but the new job declares it as list state/);
  });

  it('declared states: a newer schema version with a migrate hook is migrated; an older one, or one without a hook, schema-changed', () => {
    const ops = [operator('a', { keyedStates: [keyed('m', [1]), keyed('n', [1]), keyed('o', [1])] })];
    const declared = [
      { name: 'm', kind: 'value' as const, schemaVersion: 2, migrates: true },
      { name: 'n', kind: 'value' as const, schemaVersion: 2 },
      { name: 'o', kind: 'value' as const, schemaVersion: 1, migrates: true },
    ];
    const withO = [operator('a', { keyedStates: [keyed('m', [1]), keyed('n', [1]), { ...keyed('o', [1]), schemaVersion: 3 }] })];
    expect(report(ops, [spec('a', { keyedStates: declared })]).states.map((s) => [s.name, s.fate])).toEqual([['m', 'migrated'], ['n', 'schema-changed'], ['o', 'kept']]);
    const r = report(withO, [spec('a', { keyedStates: declared })]);
    expect(r.states.map((s) => [s.name, s.fate])).toEqual([['m', 'migrated'], ['n', 'schema-changed'], ['o', 'schema-changed']]);
    expect(r.problems).toEqual([]); // refused when the job opens, not by run -s
  });

  it('matched by operator id when the uid changed', () => {
    const r = report([operator('old-uid', { keyedStates: [keyed('s', [1])] })], [spec('new-uid', { id: operatorIdFromUid('old-uid') })]);
    expect(r.operators.map((o) => [o.uid, o.snapshotUid, o.matchedBy])).toEqual([['new-uid', 'old-uid', 'id']]);
  });

  it('its first problem is the error planRestore throws, and it has none exactly when planRestore succeeds', () => {
    const uids = ['a', 'b', 'c', 'd'];
    const snapshotOp = fc.record({ uid: fc.constantFrom(...uids), p: fc.integer({ min: 1, max: 4 }), maxP: fc.constantFrom(4, 8), withState: fc.boolean(), kind: fc.constantFrom('value' as const, 'list' as const) });
    const jobOp = fc.record({ uid: fc.constantFrom(...uids), p: fc.integer({ min: 1, max: 10 }), maxP: fc.constantFrom(4, 8, 16), configured: fc.boolean(), declare: fc.option(fc.constantFrom('value' as const, 'list' as const)) });
    fc.assert(
      fc.property(fc.uniqueArray(snapshotOp, { selector: (o) => o.uid }), fc.uniqueArray(jobOp, { selector: (o) => o.uid }), fc.boolean(), (old, job, allow) => {
        const ops = old.map((o) => operator(o.uid, { parallelism: o.p, maxParallelism: Math.max(o.maxP, o.p), keyedStates: o.withState ? [keyed('s', [0], o.kind)] : [] }));
        const specs = job.map((j) => spec(j.uid, { parallelism: j.p, maxParallelism: Math.max(j.maxP, j.p), maxParallelismConfigured: j.configured, ...(j.declare === null ? {} : { keyedStates: [{ name: 's', kind: j.declare }] }) }));
        const r = report(ops, specs, allow);
        let thrown: string | undefined;
        try {
          planRestore({ location: LOCATION, metadata: metadata(ops), operators: specs, allowNonRestoredState: allow });
        } catch (err) {
          thrown = (err as Error).message;
        }
        expect(r.problems[0]).toBe(thrown);
      }),
    );
  });
});
