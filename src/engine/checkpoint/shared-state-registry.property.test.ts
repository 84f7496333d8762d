/**
 * A model job driving the SharedStateRegistry with random interleavings of triggers, acks,
 * completions, aborts, retention and JobManager restarts, over a simulated shared directory
 * that loses each file the registry releases. A new checkpoint writes new files and refers to
 * files of a checkpoint completed before it was triggered: its base, or adversarially any
 * checkpoint completed so far, subsumed ones too (a subtask that missed notifications).
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { type CheckpointId, toCheckpointId } from './checkpoint-types.ts';
import { type SharedFileRef, SharedStateRegistry } from './shared-state-registry.ts';

const PREFIX = 'job/shared/';

type Command =
  | { readonly t: 'trigger'; readonly newFiles: number; readonly adversarial: boolean; readonly refMask: number }
  | { readonly t: 'ack'; readonly pick: number }
  | { readonly t: 'complete'; readonly pick: number; readonly abortOlder: boolean; readonly abortOlderFirst: boolean }
  | { readonly t: 'abort'; readonly pick: number }
  | { readonly t: 'restart' };

const arbCommand: fc.Arbitrary<Command> = fc.oneof(
  { arbitrary: fc.record({ t: fc.constant('trigger' as const), newFiles: fc.integer({ min: 0, max: 2 }), adversarial: fc.boolean(), refMask: fc.nat() }), weight: 4 },
  { arbitrary: fc.record({ t: fc.constant('ack' as const), pick: fc.nat() }), weight: 3 },
  { arbitrary: fc.record({ t: fc.constant('complete' as const), pick: fc.nat(), abortOlder: fc.boolean(), abortOlderFirst: fc.boolean() }), weight: 4 },
  { arbitrary: fc.record({ t: fc.constant('abort' as const), pick: fc.nat() }), weight: 1 },
  { arbitrary: fc.constant({ t: 'restart' as const }), weight: 1 },
);

interface Triggered {
  readonly id: CheckpointId;
  readonly files: readonly SharedFileRef[];
  /** Written files whose ack has not arrived yet. */
  unacked: string[];
}

class Model {
  registry = new SharedStateRegistry();
  /** Files in the shared directory. */
  readonly disk = new Set<string>();
  readonly deleted = new Set<string>();
  nextId = 1;
  readonly pending = new Map<number, Triggered>();
  /** Ended without completing, acks still to come (lost at a restart). */
  readonly aborted = new Map<number, Triggered>();
  /** Every accepted completion, in order. */
  readonly completedEver: Triggered[] = [];
  /** Retained checkpoints (the coordinator's `completed`). */
  retained: Triggered[] = [];
  refusals = 0;

  constructor(readonly numRetained: number) {}

  release(paths: readonly string[]): void {
    for (const p of paths) {
      expect(this.disk.has(p), `${p} released twice or never written`).toBe(true);
      const holder = this.retained.find((c) => c.files.some((f) => f.path === p));
      expect(holder, `${p} released while retained checkpoint ${holder?.id} refers to it`).toBeUndefined();
      this.disk.delete(p);
      this.deleted.add(p);
    }
  }

  /** Refers to all files of its base (the last completion, or `base`), or adversarially to some of any completed checkpoint's. */
  trigger(newFiles: number, adversarial: boolean, refMask: number, base = adversarial ? this.completedEver : this.completedEver.slice(-1)): Triggered {
    const id = toCheckpointId(this.nextId++);
    const candidates = [...new Set(base.flatMap((c) => c.files.map((f) => f.path)))].sort();
    const refs = candidates.filter((_, i) => (refMask >> i) % 2 === 1 || !adversarial).map((path) => ({ path, size: 1, written: false }));
    const written = Array.from({ length: newFiles }, (_, k) => `${PREFIX}f${id}-${k}`);
    for (const w of written) this.disk.add(w);
    const t: Triggered = { id, files: [...refs, ...written.map((path) => ({ path, size: 1, written: true }))], unacked: written };
    this.registry.trigger(id);
    this.pending.set(id, t);
    return t;
  }

  ack(t: Triggered, count: number): void {
    const paths = t.unacked.splice(0, count);
    this.release(this.registry.acknowledge(t.id, paths));
  }

  abort(t: Triggered): void {
    this.pending.delete(t.id);
    this.aborted.set(t.id, t);
    this.release(this.registry.abort(t.id));
  }

  complete(t: Triggered, abortOlder: boolean, abortOlderFirst: boolean): boolean {
    this.ack(t, t.unacked.length);
    const referred = t.files.filter((f) => f.written === false).map((f) => f.path);
    const missing = this.registry.reserve(t.id, t.files);
    // Refused exactly when it refers to a file that is gone: never needlessly.
    expect(missing).toEqual(referred.filter((p) => this.deleted.has(p)).sort());
    const older = () => {
      if (abortOlder) for (const p of [...this.pending.values()]) if (p.id < t.id) this.abort(p);
    };
    if (abortOlderFirst && missing.length === 0) older();
    const decision = this.registry.complete(t.id, t.files);
    expect(decision.kind).toBe(missing.length === 0 ? 'completed' : 'refused');
    this.pending.delete(t.id);
    if (decision.kind === 'refused') {
      this.refusals += 1;
      this.aborted.set(t.id, t);
      this.release(decision.release);
      return false;
    }
    for (const f of t.files) expect(this.disk.has(f.path), `checkpoint ${t.id} completed referring to deleted ${f.path}`).toBe(true);
    this.retained.push(t);
    this.completedEver.push(t);
    this.release(decision.release);
    if (!abortOlderFirst) older();
    // Retention: the newest `numRetained` by id stay (checkpointsToDiscard).
    const byId = [...this.retained].sort((a, b) => a.id - b.id);
    const discard = byId.slice(0, Math.max(0, byId.length - this.numRetained));
    this.retained = byId.slice(discard.length);
    this.release(this.registry.subsume(discard.map((c) => c.id)));
    return true;
  }

  /** A JobManager restart: pending checkpoints and their acks are lost; orphans go. */
  restart(): void {
    for (const t of this.pending.values()) t.unacked = [];
    for (const t of this.aborted.values()) t.unacked = [];
    this.pending.clear();
    this.aborted.clear();
    this.registry = SharedStateRegistry.rebuild(this.retained.map((c) => ({ id: c.id, files: c.files })));
    this.release(this.registry.orphans([...this.disk].map((key) => ({ key })), PREFIX));
  }

  run(command: Command): void {
    const pick = <T>(list: readonly T[], n: number): T | undefined => (list.length === 0 ? undefined : list[n % list.length]);
    switch (command.t) {
      case 'trigger':
        this.trigger(command.newFiles, command.adversarial, command.refMask);
        break;
      case 'ack': {
        const t = pick([...this.pending.values(), ...this.aborted.values()].filter((c) => c.unacked.length > 0), command.pick);
        if (t !== undefined) this.ack(t, 1);
        break;
      }
      case 'complete': {
        const t = pick([...this.pending.values()], command.pick);
        if (t !== undefined) this.complete(t, command.abortOlder, command.abortOlderFirst);
        break;
      }
      case 'abort': {
        const t = pick([...this.pending.values()], command.pick);
        if (t !== undefined) this.abort(t);
        break;
      }
      case 'restart':
        this.restart();
        break;
    }
    for (const c of this.retained) for (const f of c.files) expect(this.disk.has(f.path), `retained ${c.id} lost ${f.path}`).toBe(true);
  }

  /** Everything ends: pending ones abort, late acks arrive, a last checkpoint on the newest base completes and is the one retained. */
  finish(): Triggered {
    for (const t of [...this.pending.values()]) this.abort(t);
    for (const t of this.aborted.values()) this.ack(t, t.unacked.length);
    const newest = [...this.retained].sort((a, b) => b.id - a.id).slice(0, 1);
    const last = this.trigger(1, false, 0, newest);
    expect(this.complete(last, true, false)).toBe(true);
    const others = this.retained.filter((c) => c !== last);
    this.retained = [last];
    this.release(this.registry.subsume(others.map((c) => c.id)));
    return last;
  }
}

describe('SharedStateRegistry under random histories', () => {
  it('never deletes a file a retained or later completed checkpoint refers to, and in the end deletes exactly the unreferenced ones', () => {
    let refusals = 0;
    let restarts = 0;
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 3 }), fc.array(arbCommand, { maxLength: 80, size: 'large' }), (numRetained, commands) => {
        const model = new Model(numRetained);
        for (const c of commands) {
          model.run(c);
          if (c.t === 'restart') restarts += 1;
        }
        const last = model.finish();
        refusals += model.refusals;
        expect([...model.disk].sort()).toEqual([...new Set(last.files.map((f) => f.path))].sort());
        expect(model.registry.summary()).toMatchObject({ retained: [last.id], pending: [], queued: 0 });
      }),
      { numRuns: 400 },
    );
    // The histories reach the rules under test, not only the easy path.
    expect(refusals).toBeGreaterThan(0);
    expect(restarts).toBeGreaterThan(0);
  });
});
