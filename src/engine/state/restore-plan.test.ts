import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { UserError } from '../../errors.ts';
import { rangeForSubtask } from '../../format/key-groups.ts';
import type { KeyGroupBlock, OperatorMeta, SnapshotMetadata } from '../../format/model.ts';
import { operatorIdFromUid } from '../../format/murmur3.ts';
import { type NewOperatorSpec, planRestore } from './restore-plan.ts';

const LOCATION = 'file:/tmp/savepoints/savepoint-012345-abcdefabcdef';

function block(keyGroup: number): KeyGroupBlock {
  return { keyGroup, file: 0, offset: 16 + keyGroup, length: 1, entries: 1, crc: 0 };
}

function operator(uid: string, overrides: Partial<OperatorMeta> = {}): OperatorMeta {
  return { uid, id: operatorIdFromUid(uid), name: uid, parallelism: 2, maxParallelism: 128, keyedStates: [], operatorStates: [], ...overrides };
}

function keyed(name: string, kind: 'value' | 'list' | 'map', groups: readonly number[]): OperatorMeta['keyedStates'][number] {
  const blocks = groups.map(block);
  return { name, kind, schemaVersion: 1, ttl: null, entries: blocks.length, bytes: blocks.length, blocks };
}

function metadata(operators: readonly OperatorMeta[]): SnapshotMetadata {
  return {
    formatVersion: 1,
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

const spec = (uid: string, overrides: Partial<NewOperatorSpec> = {}): NewOperatorSpec => ({ uid, parallelism: 3, maxParallelism: 128, ...overrides });

const plan = (operators: readonly OperatorMeta[], specs: readonly NewOperatorSpec[], allowNonRestoredState = false) =>
  planRestore({ location: LOCATION, metadata: metadata(operators), operators: specs, allowNonRestoredState });

describe('planRestore: keyed state', () => {
  it('gives each new subtask exactly the blocks of its key groups', () => {
    fc.assert(
      fc.property(
        fc.uniqueArray(fc.nat({ max: 127 }), { maxLength: 128 }).map((g) => g.sort((a, b) => a - b)),
        fc.integer({ min: 1, max: 128 }),
        (groups, p) => {
          const result = plan([operator('op', { keyedStates: [keyed('s', 'value', groups)] })], [spec('op', { parallelism: p })]);
          const subtasks = result.operators[0]!.subtasks;
          expect(subtasks).toHaveLength(p);
          const seen: number[] = [];
          for (const sub of subtasks) {
            const range = rangeForSubtask(sub.subtask, p, 128);
            expect(sub.keyGroupRange).toEqual(range);
            const mine = sub.keyedStates[0]!.blocks.map((b) => b.keyGroup);
            expect(mine).toEqual(groups.filter((g) => g >= range.start && g <= range.end));
            seen.push(...mine);
          }
          expect(seen).toEqual(groups);
        },
      ),
    );
  });

  it('starts new operators, and operators of a stateless snapshot operator, empty', () => {
    const result = plan([operator('old-stateless')], [spec('fresh')]);
    expect(result.skipped).toEqual(['old-stateless']);
    const fresh = result.operators[0]!;
    expect(fresh.snapshotUid).toBeNull();
    expect(fresh.oldParallelism).toBeNull();
    expect(fresh.subtasks.map((s) => [s.keyGroupRange, s.keyedStates, s.operatorStates])).toEqual([
      [{ start: 0, end: 42 }, [], []],
      [{ start: 43, end: 85 }, [], []],
      [{ start: 86, end: 127 }, [], []],
    ]);
  });

  it('matches an operator by its id when its uid changed', () => {
    const old = operator('old-name', { keyedStates: [keyed('s', 'value', [1])] });
    const result = plan([old], [spec('new-name', { id: operatorIdFromUid('old-name') })]);
    expect(result.operators[0]!.snapshotUid).toBe('old-name');
    expect(result.operators[0]!.subtasks[0]!.snapshotUid).toBe('old-name');
  });
});

describe('planRestore: errors', () => {
  it("refuses a snapshot operator the new job lacks, with Flink's message", () => {
    const old = operator('dedup', { keyedStates: [keyed('seen', 'value', [5])] });
    expect(() => plan([old], [spec('other')])).toThrow(UserError);
    expect(() => plan([old], [spec('other')])).toThrow(
      `Failed to rollback to checkpoint/savepoint ${LOCATION}. Cannot map checkpoint/savepoint state for operator dedup to the new ` +
        'program, because the operator is not available in the new program. If you want to allow to skip this, you can set the ' +
        '--allowNonRestoredState option on the CLI.',
    );
  });

  it('skips it with allowNonRestoredState', () => {
    const old = operator('dedup', { operatorStates: [{ name: 'o', kind: 'list', mode: 'split', schemaVersion: 1, partitions: [null, block(0)], entries: 1, bytes: 1 }] });
    const result = plan([old], [spec('other')], true);
    expect(result.skipped).toEqual(['dedup']);
    expect(result.operators.map((o) => o.snapshotUid)).toEqual([null]);
  });

  it('refuses a changed max parallelism, naming both values and the operator', () => {
    const old = operator('window', { keyedStates: [keyed('s', 'value', [1])] });
    const attempt = () => plan([old], [spec('window', { maxParallelism: 256 })]);
    expect(attempt).toThrow(UserError);
    expect(attempt).toThrow(/^Cannot restore operator 'window' from .*: its state was written with max parallelism 128, but the new job runs it with max parallelism 256\./);
  });

  it("refuses a parallelism above the snapshot's max parallelism with Flink's message, whether the new max parallelism was set or a default", () => {
    const old = operator('window', { keyedStates: [keyed('s', 'value', [1])] });
    const message =
      `Cannot restore operator 'window' from ${LOCATION}: the maximum parallelism (128) of the restored state is lower than the configured parallelism (200). ` +
      'Please reduce the parallelism of the task to be lower or equal to the maximum parallelism.';
    // -p 200 alone: the default max parallelism for 200 is 512.
    expect(() => plan([old], [spec('window', { parallelism: 200, maxParallelism: 512, maxParallelismConfigured: false })])).toThrow(message);
    expect(() => plan([old], [spec('window', { parallelism: 200, maxParallelism: 512 })])).toThrow(message);
  });

  it("adopts the snapshot's max parallelism when the new one was only a default (as Flink)", () => {
    const old = operator('window', { keyedStates: [keyed('s', 'value', [100])] });
    const result = plan([old], [spec('window', { parallelism: 2, maxParallelism: 256, maxParallelismConfigured: false })]);
    expect(result.operators[0]!.maxParallelism).toBe(128);
    expect(result.operators[0]!.subtasks[1]!.keyGroupRange).toEqual({ start: 64, end: 127 });
    expect(result.operators[0]!.subtasks[1]!.keyedStates[0]!.blocks.map((b) => b.keyGroup)).toEqual([100]);
  });

  it('refuses a keyed state whose kind changed, naming operator, state and both kinds', () => {
    const old = operator('agg', { keyedStates: [keyed('totals', 'value', [1])] });
    const attempt = () => plan([old], [spec('agg', { keyedStates: [{ name: 'totals', kind: 'map' }] })]);
    expect(attempt).toThrow(UserError);
    expect(attempt).toThrow(
      /^Cannot restore keyed state 'totals' of operator 'agg' from .*: it was written as value state, but the new job declares it as map state\./,
    );
    // The same kind, or a new name, is fine.
    expect(() => plan([old], [spec('agg', { keyedStates: [{ name: 'totals', kind: 'value' }, { name: 'other', kind: 'list' }] })])).not.toThrow();
  });

  it('refuses an operator state whose kind or mode changed', () => {
    const old = operator('src', { operatorStates: [{ name: 'offsets', kind: 'list', mode: 'split', schemaVersion: 1, partitions: [block(0), null], entries: 1, bytes: 1 }] });
    expect(() => plan([old], [spec('src', { operatorStates: [{ name: 'offsets', kind: 'list', mode: 'union' }] })])).toThrow(
      /operator state 'offsets' of operator 'src' .*: it was written as list state, but the new job declares it as union list state/,
    );
    expect(() => plan([old], [spec('src', { operatorStates: [{ name: 'offsets', kind: 'broadcast', mode: 'broadcast' }] })])).toThrow(
      /written as list state, but the new job declares it as broadcast state/,
    );
  });

  it('refuses a parallelism above the max parallelism, and duplicate uids', () => {
    expect(() => plan([], [spec('a', { parallelism: 200 })])).toThrow(/parallelism 200 exceeds max parallelism 128/);
    expect(() => plan([], [spec('a'), spec('a')])).toThrow(/uid 'a'/);
  });
});
