import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { tempDir } from '../../../test/support/temp-dir.ts';
import { keyGroupFor, rangeForSubtask, subtaskFor } from '../../format/key-groups.ts';
import { SnapshotReader } from '../../format/snapshot-reader.ts';
import { LocalObjectStore } from '../../storage/local-store.ts';
import type { TimeDomain } from '../api/timer-service.ts';
import { HeapKeyedStateBackend } from '../state/heap-keyed-state-backend.ts';
import { planRestore } from '../state/restore-plan.ts';
import { restoreKeyedState } from '../state/restore-state.ts';
import { writeOperatorSnapshots } from '../state/snapshot-test-support.ts';
import { timersState } from '../state/state-descriptors.ts';
import { InternalTimerService, TIMERS_STATE } from './internal-timer-service.ts';
import { ManualProcessingTime } from './manual-processing-time.ts';

type Fired = [key: unknown, timestamp: number, domain: TimeDomain];

function setup(range = { start: 0, end: 127 }, backend = new HeapKeyedStateBackend({ keyGroupRange: range, maxParallelism: 128 })) {
  const clock = new ManualProcessingTime();
  const fired: Fired[] = [];
  const service = new InternalTimerService(backend, clock, (timestamp, domain) => void fired.push([backend.getCurrentKey(), timestamp, domain]));
  service.open();
  return { backend, clock, fired, service };
}

let root: Awaited<ReturnType<typeof tempDir>>;
beforeAll(async () => {
  root = await tempDir();
});
afterAll(async () => {
  await root.remove();
});

describe('InternalTimerService', () => {
  it('fires event-time timers with timestamp <= watermark, in timestamp order, once, with their key set', async () => {
    const { backend, fired, service } = setup();
    const register = (key: string, t: number): void => {
      backend.setCurrentKey(key);
      service.registerEventTimeTimer(t);
    };
    register('a', 30);
    register('b', 10);
    register('a', 10);
    register('a', 30); // deduplicated
    register('c', 50);
    expect(service.queued.eventTime).toBe(4);
    await service.advanceWatermark(29);
    expect(fired).toEqual([
      ['b', 10, 'EVENT_TIME'],
      ['a', 10, 'EVENT_TIME'],
    ]);
    expect(service.currentWatermark()).toBe(29);
    await service.advanceWatermark(50);
    expect(fired.slice(2)).toEqual([
      ['a', 30, 'EVENT_TIME'],
      ['c', 50, 'EVENT_TIME'],
    ]);
    expect(backend.size(TIMERS_STATE)).toBe(0); // fired timers leave state
    await service.advanceWatermark(Number.POSITIVE_INFINITY);
    expect(fired).toHaveLength(4);
  });

  it('adds no state to the backend until a timer is registered', async () => {
    const { backend, service } = setup();
    await service.advanceWatermark(100);
    expect(backend.states()).toEqual([]);
    backend.setCurrentKey('k');
    service.registerEventTimeTimer(200);
    expect(backend.states().map((s) => [s.name, s.kind])).toEqual([[TIMERS_STATE, 'timers']]);
  });

  it('keeps timers as [domain, timestamp] pairs per key in raw keyed state, and deletes them', () => {
    const { backend, service } = setup();
    const raw = backend.getRawState(timersState(TIMERS_STATE));
    backend.setCurrentKey('k');
    service.registerEventTimeTimer(100);
    service.registerProcessingTimeTimer(2000);
    service.registerEventTimeTimer(200);
    expect(raw.get()).toEqual([
      [0, 100],
      [1, 2000],
      [0, 200],
    ]);
    service.deleteEventTimeTimer(100);
    service.deleteEventTimeTimer(999); // not there: nothing happens
    expect(raw.get()).toEqual([
      [1, 2000],
      [0, 200],
    ]);
    service.deleteProcessingTimeTimer(2000);
    service.deleteEventTimeTimer(200);
    expect(raw.get()).toBeUndefined();
    expect(service.queued).toEqual({ eventTime: 0, processingTime: 0 });
  });

  it('fires timers that firing registers at or before the watermark in the same advance', async () => {
    const backend = new HeapKeyedStateBackend({ keyGroupRange: { start: 0, end: 127 }, maxParallelism: 128 });
    const fired: number[] = [];
    const service: InternalTimerService = new InternalTimerService(backend, new ManualProcessingTime(), (t) => {
      fired.push(t);
      if (t < 5) service.registerEventTimeTimer(t + 1);
    });
    service.open();
    backend.setCurrentKey('x');
    service.registerEventTimeTimer(1);
    await service.advanceWatermark(3);
    expect(fired).toEqual([1, 2, 3]);
    expect(service.queued.eventTime).toBe(1);
  });

  it('fires processing-time timers from one wake-up for the earliest, rescheduling as timers come and go', async () => {
    const { backend, clock, fired, service } = setup();
    backend.setCurrentKey('a');
    service.registerProcessingTimeTimer(1500);
    backend.setCurrentKey('b');
    service.registerProcessingTimeTimer(1200); // earlier: replaces the wake-up
    service.registerProcessingTimeTimer(1200);
    expect(clock.pending).toBe(1);
    await clock.advanceTo(1199);
    expect(fired).toEqual([]);
    await clock.advanceTo(1600);
    expect(fired).toEqual([
      ['b', 1200, 'PROCESSING_TIME'],
      ['a', 1500, 'PROCESSING_TIME'],
    ]);
    expect(clock.pending).toBe(0);
    backend.setCurrentKey('c');
    service.registerProcessingTimeTimer(1000); // in the past: due at once
    service.close();
    await clock.advanceTo(5000);
    expect(fired).toHaveLength(2); // closed: the wake-up was cancelled
  });

  it('rebuilds its queues from keyed state, also after a snapshot restored at another parallelism', async () => {
    const maxP = 128;
    const keys = Array.from({ length: 200 }, (_, i) => `user-${i}`);
    // Two old subtasks register one event-time and one processing-time timer per key.
    const snapshots = [0, 1].map((i) => {
      const { backend, service } = setup(rangeForSubtask(i, 2, maxP));
      for (const [n, key] of keys.entries()) {
        if (subtaskFor(keyGroupFor(key, maxP), 2, maxP) !== i) continue;
        backend.setCurrentKey(key);
        service.registerEventTimeTimer(n * 10);
        service.registerProcessingTimeTimer(2000 + n);
      }
      return { keyed: backend.snapshot() };
    });
    const store = new LocalObjectStore(`${root.path}/timers`);
    await writeOperatorSnapshots(store, [{ uid: 'timers', maxParallelism: maxP, subtasks: snapshots }]);
    const reader = await SnapshotReader.open(store);
    const plan = planRestore({ location: store.location, metadata: reader.metadata, operators: [{ uid: 'timers', parallelism: 3, maxParallelism: maxP }], allowNonRestoredState: false });

    const fired: Fired[] = [];
    for (const sub of plan.operators[0]!.subtasks) {
      const backend = new HeapKeyedStateBackend({ keyGroupRange: sub.keyGroupRange, maxParallelism: maxP });
      await restoreKeyedState(reader, sub, backend);
      const { clock, fired: mine, service } = setup(sub.keyGroupRange, backend);
      await service.advanceWatermark(Number.POSITIVE_INFINITY);
      await clock.advanceTo(10_000);
      for (const [key] of mine) expect(sub.keyGroupRange.start <= keyGroupFor(key, maxP) && keyGroupFor(key, maxP) <= sub.keyGroupRange.end).toBe(true);
      fired.push(...mine);
    }
    const expected = keys.flatMap((key, n): Fired[] => [
      [key, n * 10, 'EVENT_TIME'],
      [key, 2000 + n, 'PROCESSING_TIME'],
    ]);
    const order = (a: Fired, b: Fired): number => a[1] - b[1];
    expect([...fired].sort(order)).toEqual(expected.sort(order));
  });
});
