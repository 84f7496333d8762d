/**
 * The coordinator's side of an attempt whose subtasks run in task slots: deploys every slot,
 * introduces slots that talk over TCP to each other, tells every slot where a snapshot goes
 * before injecting barriers, and turns the slots' reports into the executor's calls and
 * outcome. Where a slot runs (a thread of this process, a thread of a TaskManager) is the
 * connection's business.
 */
import { UserError } from '../../../errors.ts';
import type { AttemptSpec, DeployedAttempt, SubtaskCounts } from '../../runtime/attempt-deployment.ts';
import { CancelledError } from '../../runtime/subtask.ts';
import { TaskFailure } from '../../runtime/task-failure.ts';
import { chainName } from '../../runtime/vertex-names.ts';
import type { DeployMessage, FromSlot, SlotFailure, ToSlot } from './slot-protocol.ts';
import { DEFAULT_TASK_CANCELLATION_TIMEOUT_MS, TASK_CANCELLATION_TIMEOUT_KEY } from './task-cancellation.ts';

/** One slot as the coordinator's side reaches it. */
export interface SlotConnection {
  /** Where it runs, for messages (`task slot 1 on tm-...`). */
  readonly name: string;
  post(message: ToSlot): void;
  /** `gone` is called once: the slot's thread or its TaskManager ended, with why if not normally. */
  start(handlers: { message(message: FromSlot): void; gone(error: Error | undefined): void }): void;
  /** Ends the slot without waiting for it (after task.cancellation.timeout). */
  terminate(): void;
}

export interface SlotAttemptOptions {
  /**
   * `task.cancellation.timeout`: how long the slots may take to stop after the attempt is
   * cancelled before they are terminated; 0 waits for them for ever, as Flink's 0 turns off its
   * watchdog. Default: Flink's 180000 ms.
   */
  readonly cancellationTimeoutMs?: number;
  /**
   * The JobManager's log, where a slot the watchdog terminates is named with its subtasks (Flink
   * logs a task that outlives the timeout as a fatal error of its TaskManager).
   */
  readonly log?: (line: string) => void;
}
/** How long a closed-channel failure waits for the failure that caused it to be reported. */
const SECONDARY_GRACE_MS = 500;

/**
 * `slots[i]` runs subtask j of every chain for j mod slots.length = i; `deploy(i)` is its deploy
 * message (sent by the connection, which may add ports).
 */
export function runSlotAttempt(spec: AttemptSpec, slots: readonly SlotConnection[], deploy: (slot: number) => DeployMessage, options: SlotAttemptOptions = {}): DeployedAttempt {
  const cancellationTimeoutMs = options.cancellationTimeoutMs ?? DEFAULT_TASK_CANCELLATION_TIMEOUT_MS;
  const slotCount = slots.length;
  const subtaskCount = spec.chains.reduce((n, c) => n + c.parallelism, 0);
  const ended = new Set<number>();
  const deployed = new Set<number>();
  const listening = new Map<number, { host: string; port: number }>();
  const remoteSlots = new Set<number>();
  const counts = new Map<number, readonly SubtaskCounts[]>();
  let failure: Error | undefined;
  let markRunning!: () => void;
  let failRunning!: (error: Error) => void;
  const running = new Promise<void>((resolve, reject) => {
    markRunning = resolve;
    failRunning = reject;
  });
  running.catch(() => undefined);
  let rejectFailed!: (error: Error) => void;
  const failed = new Promise<never>((_, reject) => (rejectFailed = reject));
  failed.catch(() => undefined);
  let resolveDone!: () => void;
  let rejectDone!: (error: Error) => void;
  const done = new Promise<void>((resolve, reject) => {
    resolveDone = resolve;
    rejectDone = reject;
  });
  done.catch(() => undefined);
  let stopTimer: NodeJS.Timeout | undefined;
  /** A closed-channel failure waiting for its cause (see slotFailed). */
  let secondary: NodeJS.Timeout | undefined;
  let secondaryFailure: SlotFailure | undefined;
  const post = (message: ToSlot): void => slots.forEach((s, slot) => !ended.has(slot) && s.post(message));
  const settleIfEnded = (): void => {
    if (ended.size < slotCount) return;
    // Every slot is done and no cause came: the closed channel is all there is to report.
    if (failure === undefined && secondaryFailure !== undefined) return fail(failureOf(secondaryFailure));
    if (stopTimer !== undefined) clearTimeout(stopTimer);
    if (failure === undefined) resolveDone();
    else rejectDone(failure);
  };
  const fail = (error: Error): void => {
    if (failure !== undefined) return;
    if (secondary !== undefined) clearTimeout(secondary);
    failure = error;
    failRunning(error);
    rejectFailed(error);
    post({ type: 'cancel' });
    if (cancellationTimeoutMs > 0) {
      stopTimer = setTimeout(() => {
        slots.forEach((s, slot) => {
          if (ended.has(slot)) return;
          options.log?.(`${s.name} did not stop within ${cancellationTimeoutMs} ms of its cancellation (${TASK_CANCELLATION_TIMEOUT_KEY}): terminating its thread, with ${subtasksOf(spec, slot, slotCount).join(', ')}`);
          s.terminate();
        });
      }, cancellationTimeoutMs);
      stopTimer.unref();
    }
    settleIfEnded();
  };
  /** A slot's failure: its cause fails the attempt at once; a closed channel waits a moment for the cause. */
  const slotFailed = (f: SlotFailure): void => {
    if (f.secondary !== true) return fail(failureOf(f));
    secondaryFailure ??= f;
    secondary ??= setTimeout(() => fail(failureOf(f)), SECONDARY_GRACE_MS);
  };
  const slotEnded = (slot: number, slotFailure: Error | undefined): void => {
    if (ended.has(slot)) return;
    ended.add(slot);
    if (slotFailure !== undefined) fail(slotFailure);
    // A slot that ends normally before the others is done (its subtasks were released).
    settleIfEnded();
  };

  slots.forEach((connection, slot) => {
    connection.start({
      message: (message) => {
        switch (message.type) {
          case 'listening':
            listening.set(slot, { host: message.host, port: message.port });
            // Every slot with peers over TCP listens before any connects.
            if (listening.size === remoteSlots.size) post({ type: 'connect-peers', peers: [...listening].map(([s, a]) => ({ slot: s, ...a })) });
            return;
          case 'deployed':
            deployed.add(slot);
            if (deployed.size === slotCount) markRunning();
            return;
          case 'finished':
            spec.coordination.finished({ chain: message.chain, index: message.index });
            return;
          case 'ack':
            spec.coordination.acknowledge(message.ack);
            return;
          case 'decline':
            spec.coordination.decline(message.checkpointId, new Error(message.reason), message.why);
            return;
          case 'counts':
            counts.set(slot, message.subtasks);
            return;
          case 'failing':
            slotFailed(message.failure);
            return;
          case 'ended':
            if (message.failure !== undefined) slotFailed(message.failure);
            ended.add(slot);
            settleIfEnded();
            return;
        }
      },
      gone: (error) => slotEnded(slot, failure ?? error ?? (ended.has(slot) ? undefined : new Error(`${connection.name} ended before its subtasks did`))),
    });
  });
  const messages = slots.map((_, slot) => deploy(slot));
  messages.forEach((message, slot) => {
    if (message.peers.some((p) => p.port === undefined)) remoteSlots.add(slot);
  });
  slots.forEach((connection, slot) => connection.post(messages[slot]!));

  return {
    subtaskCount,
    running,
    injectBarrier: (checkpointId, savepoint, drain) => {
      void Promise.resolve(spec.coordination.checkpointTarget(checkpointId)).then((target) => {
        if (target === undefined) return;
        const shared = target.shared === undefined ? {} : { shared: { root: target.shared.store.location, dir: target.shared.dir, full: target.shared.full } };
        post({ type: 'snapshot-started', checkpointId, savepoint, location: target.store.location, ...shared, ...(target.native === true ? { native: true } : {}) });
        post({ type: 'inject-barrier', checkpointId, savepoint, drain });
      });
    },
    notifyComplete: (checkpointId) => post({ type: 'snapshot-complete', checkpointId }),
    notifyAborted: (checkpointId) => post({ type: 'snapshot-aborted', checkpointId }),
    release: () => post({ type: 'release' }),
    fail,
    failed,
    done,
    recordCounts: () => [...counts.values()].flat(),
  };
}

/** The subtasks slot `slot` of `slotCount` runs, by their task names (`Map -> Sink: out (2/4)`). */
function subtasksOf(spec: AttemptSpec, slot: number, slotCount: number): string[] {
  return spec.chains.flatMap((chain) => Array.from({ length: chain.parallelism }, (_, index) => index).filter((index) => index % slotCount === slot).map((index) => `${chainName(chain.nodes)} (${index + 1}/${chain.parallelism})`));
}

/** The slot's failure as the executor knows failures: cancelled, a user's error to fix, or a task's. */
export function failureOf(f: SlotFailure): Error {
  if (f.cancelled) return new CancelledError(f.message);
  const inner = f.userExitCode === undefined ? new Error(f.message) : new UserError(f.message, f.userExitCode);
  if (f.userExitCode === undefined) Object.defineProperty(inner, 'name', { value: f.name });
  inner.stack = f.stack;
  return f.taskName === null ? inner : new TaskFailure(f.taskName, inner);
}
