import { describe, expect, it } from 'vitest';
import { InternalError } from '../../errors.ts';
import { toCheckpointId as id } from './checkpoint-types.ts';
import { type SharedFileRef, SharedStateRegistry, snapshotBytes } from './shared-state-registry.ts';

const J = 'job';
const path = (name: string): string => `${J}/shared/${name}`;
const wrote = (name: string, size = 10): SharedFileRef => ({ path: path(name), size, written: true });
const refers = (name: string, size = 10): SharedFileRef => ({ path: path(name), size, written: false });

/** Triggers and completes `n` (which must be accepted), returning what the completion released. */
function completeNew(r: SharedStateRegistry, n: number, files: readonly SharedFileRef[]): readonly string[] {
  r.trigger(id(n));
  const decision = r.complete(id(n), files);
  expect(decision.kind).toBe('completed');
  return decision.release;
}

describe('SharedStateRegistry', () => {
  it('deletes a file once no retained checkpoint refers to it, with nothing pending', () => {
    const r = new SharedStateRegistry();
    expect(completeNew(r, 1, [wrote('a'), wrote('b')])).toEqual([]);
    expect(completeNew(r, 2, [refers('a'), wrote('c')])).toEqual([]);
    expect(r.subsume([id(1)])).toEqual([path('b')]);
    expect(r.subsume([id(2)])).toEqual([path('a'), path('c')]);
    expect(r.summary()).toEqual({ retained: [], pending: [], files: 0, bytes: 0, queued: 0 });
  });

  it('keeps a file two retained checkpoints share until both are subsumed', () => {
    const r = new SharedStateRegistry();
    completeNew(r, 1, [wrote('a')]);
    completeNew(r, 2, [refers('a')]);
    completeNew(r, 3, [refers('a')]);
    expect(r.subsume([id(1), id(2)])).toEqual([]);
    expect(r.subsume([id(3)])).toEqual([path('a')]);
  });

  it('holds an unreferenced file until every checkpoint pending at that moment ended', () => {
    const r = new SharedStateRegistry();
    completeNew(r, 1, [wrote('a')]);
    r.trigger(id(2));
    r.trigger(id(3));
    completeNew(r, 4, [wrote('d')]);
    expect(r.subsume([id(1)])).toEqual([]);
    expect(r.summary().queued).toBe(1);
    // A checkpoint triggered later is not waited for.
    r.trigger(id(5));
    expect(r.abort(id(2))).toEqual([]);
    expect(r.complete(id(3), [refers('d')])).toEqual({ kind: 'completed', release: [path('a')] });
    expect(r.summary()).toMatchObject({ pending: [5], queued: 0 });
  });

  it('a pending checkpoint that completes referring to a queued file rescues it', () => {
    const r = new SharedStateRegistry();
    completeNew(r, 1, [wrote('a')]);
    r.trigger(id(2));
    completeNew(r, 3, [wrote('c')]);
    expect(r.subsume([id(1)])).toEqual([]);
    expect(r.complete(id(2), [refers('a'), wrote('b')])).toEqual({ kind: 'completed', release: [] });
    expect(r.subsume([id(2)])).toEqual([path('a'), path('b')]);
  });

  it('a checkpoint triggered after a file was queued may still rescue it while it is held', () => {
    const r = new SharedStateRegistry();
    completeNew(r, 1, [wrote('a')]);
    r.trigger(id(2));
    completeNew(r, 3, [wrote('c')]);
    r.subsume([id(1)]);
    r.trigger(id(4));
    expect(r.reserve(id(4), [refers('a')])).toEqual([]);
    expect(r.complete(id(4), [refers('a')]).kind).toBe('completed');
    expect(r.abort(id(2))).toEqual([]);
  });

  it('an ack naming the files a pending checkpoint refers to holds them, as reserve does', () => {
    const r = new SharedStateRegistry();
    completeNew(r, 1, [wrote('a')]);
    r.trigger(id(2));
    completeNew(r, 3, [wrote('c')]);
    r.subsume([id(1)]); // queued behind 2
    r.trigger(id(4)); // triggered later, yet its subtasks refer to a
    expect(r.acknowledge(id(4), [path('d')], [path('a')])).toEqual([]);
    expect(r.abort(id(2))).toEqual([]);
    expect(r.complete(id(4), [refers('a'), wrote('d')]).kind).toBe('completed');
  });

  it('without a hold, a file queued before a checkpoint was triggered may go while it is pending', () => {
    const r = new SharedStateRegistry();
    completeNew(r, 1, [wrote('a')]);
    r.trigger(id(2));
    completeNew(r, 3, [wrote('c')]);
    r.subsume([id(1)]);
    r.trigger(id(4));
    expect(r.abort(id(2))).toEqual([path('a')]);
    expect(r.complete(id(4), [refers('a')])).toEqual({ kind: 'refused', missing: [path('a')], release: [] });
  });

  it('refuses a completion referring to a released file, and deletes what that checkpoint wrote', () => {
    const r = new SharedStateRegistry();
    completeNew(r, 1, [wrote('a')]);
    r.trigger(id(3)); // triggered before 2 completed: its subtasks' base is still 1
    expect(r.acknowledge(id(3), [path('x')])).toEqual([]);
    completeNew(r, 2, [wrote('b')]);
    expect(r.subsume([id(1)])).toEqual([]); // held for 3
    r.trigger(id(4)); // a subtask that missed 2's notification builds on 1 again
    expect(r.abort(id(3))).toEqual([path('a'), path('x')]);
    expect(r.reserve(id(4), [refers('a'), wrote('y'), refers('b')])).toEqual([path('a')]);
    expect(r.complete(id(4), [refers('a'), wrote('y')])).toEqual({ kind: 'refused', missing: [path('a')], release: [path('y')] });
    expect(r.summary()).toEqual({ retained: [2], pending: [], files: 1, bytes: 10, queued: 0 });
  });

  it('a refused checkpoint releases the files it held in the queue', () => {
    const r = new SharedStateRegistry();
    completeNew(r, 1, [wrote('a')]);
    r.trigger(id(2));
    completeNew(r, 3, [wrote('c')]);
    r.subsume([id(1)]);
    const refused = r.complete(id(2), [refers('gone')]);
    expect(refused).toEqual({ kind: 'refused', missing: [path('gone')], release: [path('a')] });
  });

  it('an aborted checkpoint\'s acknowledged files go, and late acks go at once', () => {
    const r = new SharedStateRegistry();
    completeNew(r, 1, [wrote('a')]);
    r.trigger(id(2));
    expect(r.acknowledge(id(2), [path('b1')])).toEqual([]);
    expect(r.abort(id(2))).toEqual([path('b1')]);
    expect(r.abort(id(2))).toEqual([]);
    expect(r.acknowledge(id(2), [path('b2'), path('a')])).toEqual([path('b2')]);
    // An ack for another checkpoint that ended (an id at or below those triggered here) is late too...
    expect(r.acknowledge(id(1), [path('from-before')])).toEqual([path('from-before')]);
    // ...but one above every triggered id is kept: this checkpoint may still start here.
    expect(r.acknowledge(id(99), [path('early')])).toEqual([]);
  });

  it('a late ack never releases a file ahead of its queue', () => {
    const r = new SharedStateRegistry();
    completeNew(r, 1, [wrote('a')]);
    r.trigger(id(2));
    completeNew(r, 3, []);
    r.subsume([id(1)]);
    expect(r.acknowledge(id(7), [path('a')])).toEqual([]);
    expect(r.abort(id(2))).toEqual([path('a')]);
  });

  it('files acknowledged but not listed in _metadata go when the checkpoint completes', () => {
    const r = new SharedStateRegistry();
    r.trigger(id(1));
    r.acknowledge(id(1), [path('a'), path('extra')]);
    expect(r.complete(id(1), [wrote('a')])).toEqual({ kind: 'completed', release: [path('extra')] });
  });

  it('claim: the restored checkpoint is adopted and its files go once it is subsumed', () => {
    const r = new SharedStateRegistry();
    r.adopt(id(7), [{ path: 'old-job/shared/a', size: 5 }, { path: 'old-job/shared/b', size: 5 }]);
    r.adopt(id(7), [{ path: 'old-job/shared/a', size: 5 }]);
    r.trigger(id(8));
    expect(r.complete(id(8), [{ path: 'old-job/shared/a', size: 5, written: false }, wrote('c')]).kind).toBe('completed');
    expect(r.subsume([id(7)])).toEqual(['old-job/shared/b']);
    expect(r.subsume([id(8)])).toEqual([path('c'), 'old-job/shared/a']);
  });

  it('rebuild: a new registry from the retained checkpoints knows what they refer to', () => {
    const r = SharedStateRegistry.rebuild([
      { id: id(4), files: [wrote('a'), wrote('b')] },
      { id: id(5), files: [refers('a'), wrote('c')] },
    ]);
    expect(r.summary()).toEqual({ retained: [4, 5], pending: [], files: 3, bytes: 30, queued: 0 });
    expect(r.reserve(id(9), [refers('b'), refers('z')])).toEqual([path('z')]);
    expect(r.subsume([id(4)])).toEqual([path('b')]);
  });

  it('orphans at start: files under the prefix no retained checkpoint refers to, none while one is pending', () => {
    const r = SharedStateRegistry.rebuild([{ id: id(4), files: [wrote('a')] }]);
    const listing = [{ key: path('a') }, { key: path('b') }, { key: 'job/chk-4/_metadata' }, { key: 'other/shared/c' }, { key: path('d') }];
    expect(r.orphans(listing, `${J}/shared/`)).toEqual([path('b'), path('d')]);
    r.trigger(id(5));
    expect(r.orphans(listing, `${J}/shared/`)).toEqual([]);
  });

  it('figures: bytes written by a checkpoint and referred to', () => {
    const r = new SharedStateRegistry();
    completeNew(r, 1, [wrote('a', 100)]);
    completeNew(r, 2, [refers('a', 100), wrote('b', 7), { path: path('c'), size: 3 }]);
    expect(r.figures(id(2))).toEqual({ written: 10, referred: 100, total: 110 });
    expect(r.figures(id(3))).toBeUndefined();
    expect(snapshotBytes([{ size: 4 }, { size: 6, written: false }])).toEqual({ written: 4, referred: 6, total: 10 });
  });

  it('refuses bookkeeping that cannot happen', () => {
    const r = new SharedStateRegistry();
    completeNew(r, 1, []);
    expect(() => r.trigger(id(1))).toThrow(InternalError);
    expect(() => r.complete(id(1), [])).toThrow(InternalError);
    expect(r.subsume([id(42)])).toEqual([]);
  });
});
