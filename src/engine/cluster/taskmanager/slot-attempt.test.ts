/**
 * task.cancellation.timeout on the coordinator's side of a slotted attempt: a slot that has not
 * stopped that long after the cancel is terminated, and 0 waits for it for ever. The slots are
 * fakes the test holds open; the timers are fake, so no test waits for real time.
 */
import { afterEach, beforeEach, expect, it, vi } from 'vitest';
import type { AttemptSpec } from '../../runtime/attempt-deployment.ts';
import { type SlotAttemptOptions, type SlotConnection, runSlotAttempt } from './slot-attempt.ts';
import type { DeployMessage, FromSlot, ToSlot } from './slot-protocol.ts';

beforeEach(() => {
  vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout'] });
});
afterEach(() => {
  vi.useRealTimers();
});

interface FakeSlot extends SlotConnection {
  readonly posted: ToSlot['type'][];
  terminated: number;
  /** The slot's own report that it ended (its subtasks stopped). */
  end(): void;
}

function fakeSlot(slot: number): FakeSlot {
  let handlers: { message(m: FromSlot): void; gone(e: Error | undefined): void } | undefined;
  const fake: FakeSlot = {
    name: `task slot ${slot}`,
    posted: [],
    terminated: 0,
    post: (message) => void fake.posted.push(message.type),
    start: (h) => void (handlers = h),
    // As a thread's exit: the connection reports the slot gone.
    terminate: () => {
      fake.terminated++;
      handlers?.gone(new Error(`task slot ${slot} was terminated`));
    },
    end: () => handlers?.message({ type: 'ended' }),
  };
  return fake;
}

/** An attempt of two slots that the test fails at once (a subtask's failure: every slot is cancelled). */
function failedAttempt(options?: SlotAttemptOptions): { slots: FakeSlot[]; done: Promise<void> } {
  const slots = [fakeSlot(0), fakeSlot(1)];
  // Only what runSlotAttempt reads of a spec and a deploy message: the chains' parallelism and names, the peers.
  const spec = {
    chains: [
      { parallelism: 3, nodes: [{ node: { kind: 'source', name: 'words' } }, { node: { kind: 'map', name: 'Map' } }] },
      { parallelism: 2, nodes: [{ node: { kind: 'map', name: 'counts', isSink: true } }] },
    ],
  } as unknown as AttemptSpec;
  const attempt = runSlotAttempt(spec, slots, () => ({ type: 'deploy', peers: [] }) as unknown as DeployMessage, options);
  attempt.fail(new Error('a subtask failed'));
  expect(slots.map((s) => s.posted)).toEqual([['deploy', 'cancel'], ['deploy', 'cancel']]);
  return { slots, done: attempt.done };
}

it("terminates the slots that have not stopped after Flink's default, 180000 ms", async () => {
  const { slots, done } = failedAttempt();
  slots[0]!.end();
  await vi.advanceTimersByTimeAsync(179_999);
  expect(slots.map((s) => s.terminated)).toEqual([0, 0]);
  await vi.advanceTimersByTimeAsync(1);
  expect(slots.map((s) => s.terminated)).toEqual([0, 1]);
  await expect(done).rejects.toThrow(/^a subtask failed$/);
});

it('names each slot it terminates, with its subtasks, in the log; a slot that stopped is not named', async () => {
  const lines: string[] = [];
  const { slots, done } = failedAttempt({ cancellationTimeoutMs: 5_000, log: (line) => lines.push(line) });
  await vi.advanceTimersByTimeAsync(4_999);
  expect(lines).toEqual([]);
  await vi.advanceTimersByTimeAsync(1);
  expect(lines).toEqual([
    'task slot 0 did not stop within 5000 ms of its cancellation (task.cancellation.timeout): terminating its thread, with Source: words -> Map (1/3), Source: words -> Map (3/3), Sink: counts (1/2)',
    'task slot 1 did not stop within 5000 ms of its cancellation (task.cancellation.timeout): terminating its thread, with Source: words -> Map (2/3), Sink: counts (2/2)',
  ]);
  await expect(done).rejects.toThrow(/^a subtask failed$/);

  lines.length = 0;
  const second = failedAttempt({ cancellationTimeoutMs: 5_000, log: (line) => lines.push(line) });
  second.slots[1]!.end();
  await vi.advanceTimersByTimeAsync(5_000);
  expect(lines).toEqual(['task slot 0 did not stop within 5000 ms of its cancellation (task.cancellation.timeout): terminating its thread, with Source: words -> Map (1/3), Source: words -> Map (3/3), Sink: counts (1/2)']);
  await expect(second.done).rejects.toThrow(/^a subtask failed$/);
});

it('terminates them after the timeout given', async () => {
  const { slots, done } = failedAttempt({ cancellationTimeoutMs: 5_000 });
  await vi.advanceTimersByTimeAsync(4_999);
  expect(slots.map((s) => s.terminated)).toEqual([0, 0]);
  await vi.advanceTimersByTimeAsync(1);
  expect(slots.map((s) => s.terminated)).toEqual([1, 1]);
  await expect(done).rejects.toThrow(/^a subtask failed$/);
});

it('0 waits for the slots for ever, and the attempt ends when they do', async () => {
  const { slots, done } = failedAttempt({ cancellationTimeoutMs: 0 });
  let settled = false;
  done.catch(() => undefined).finally(() => (settled = true));
  await vi.advanceTimersByTimeAsync(30 * 86_400_000);
  expect(slots.map((s) => s.terminated)).toEqual([0, 0]);
  expect(settled).toBe(false);
  slots[0]!.end();
  slots[1]!.end();
  await expect(done).rejects.toThrow(/^a subtask failed$/);
  expect(slots.map((s) => s.terminated)).toEqual([0, 0]);
});

it('a slot that stops in time is never terminated', async () => {
  const { slots, done } = failedAttempt({ cancellationTimeoutMs: 5_000 });
  await vi.advanceTimersByTimeAsync(4_000);
  slots[0]!.end();
  slots[1]!.end();
  await expect(done).rejects.toThrow(/^a subtask failed$/);
  await vi.advanceTimersByTimeAsync(60_000);
  expect(slots.map((s) => s.terminated)).toEqual([0, 0]);
});
