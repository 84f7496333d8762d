/**
 * Places an attempt's subtasks in slots of TaskManagers: asks for as many slots as the job's
 * highest parallelism (Flink's slot sharing), connects to each TaskManager holding one, and
 * deploys; subtask i of every chain runs in slot i. Slots of one TaskManager talk over
 * MessagePorts it makes, slots of different ones over TCP. A TaskManager that is lost (its
 * connection closes or stops heartbeating) fails the attempt; the restart strategy decides, and
 * the next attempt asks for slots again.
 */
import type { AttemptDeployment, AttemptSpec, DeployedAttempt } from '../../runtime/attempt-deployment.ts';
import { connectTcpMux } from '../../network/tcp-mux.ts';
import { controlLink, type ControlLink } from './control-link.ts';
import { type SlotConnection, failureOf, runSlotAttempt } from './slot-attempt.ts';
import type { DeployMessage, FromSlot, SlotJobSource, SlotNetwork } from './slot-protocol.ts';
import { type FromTaskManager, TO_JOB, TO_TASK_MANAGER, type ToTaskManager } from './task-manager-protocol.ts';
import { deployMessage } from './thread-slots-deployment.ts';

import type { SlotAssignment } from './slot-assignment.ts';

export type { SlotAssignment };

export interface TaskManagerDeploymentOptions {
  readonly source: SlotJobSource;
  readonly allowNonRestoredState: boolean;
  /**
   * Slots for an attempt, from the JobManager (waits for them up to `slot.request.timeout`).
   * `lost`: TaskManagers this job found gone (refused connections, links lost) since the last
   * request, so the JobManager stops offering them before their heartbeats time out.
   */
  readonly acquireSlots: (count: number, lost: readonly string[]) => Promise<readonly SlotAssignment[]>;
  /** The data plane's settings for the slots (secret, heartbeat timeout, bind and advertised host are the TaskManager's). */
  readonly secret?: string;
  readonly heartbeatTimeoutMs?: number;
  /** `task.cancellation.timeout` of the job, ms (0: none); Flink's 180000 when not given. */
  readonly cancellationTimeoutMs?: number;
  /** The JobManager's log (a slot terminated after task.cancellation.timeout is named there). */
  readonly log?: (line: string) => void;
}

export function taskManagerDeployment(options: TaskManagerDeploymentOptions): AttemptDeployment {
  const lost = new Set<string>();
  return (spec) => deferred(spec, deployToTaskManagers(spec, options, lost));
}

async function deployToTaskManagers(spec: AttemptSpec, options: TaskManagerDeploymentOptions, lost: Set<string>): Promise<DeployedAttempt> {
  const slotCount = Math.max(...spec.chains.map((c) => c.parallelism));
  const reported = [...lost];
  lost.clear();
  const assignments = await options.acquireSlots(slotCount, reported);
  const byTaskManager = new Map<string, { assignment: SlotAssignment; slots: number[] }>();
  assignments.forEach((a, slot) => {
    const entry = byTaskManager.get(a.taskManagerId) ?? { assignment: a, slots: [] };
    entry.slots.push(slot);
    byTaskManager.set(a.taskManagerId, entry);
  });
  const listeners = new Map<number, { message(m: FromSlot): void; gone(e: Error | undefined): void }>();
  /** The attempt is over and closes its links itself: a closed link then says nothing of the TaskManager. */
  let ending = false;
  const links = new Map<string, ControlLink<ToTaskManager>>();
  try {
    for (const [tmId, { assignment, slots }] of byTaskManager) {
      const mux = await connectTcpMux({ endpointId: `job-${spec.jobId}-attempt-${spec.attempt}`, host: assignment.host, port: assignment.port, secret: options.secret, heartbeatTimeoutMs: options.heartbeatTimeoutMs }).catch((err: unknown) => {
        lost.add(tmId);
        throw err;
      });
      const link = controlLink<FromTaskManager, ToTaskManager>(mux, TO_TASK_MANAGER, TO_JOB, (message) => {
        const listener = listeners.get(message.slot);
        if (message.type === 'from-slot') listener?.message(message.message);
        else if (message.type === 'slot-gone') listener?.gone(message.failure === undefined ? undefined : failureOf(message.failure));
        else listener?.gone(new Error(`TaskManager ${tmId} refused task slot ${message.slot}: ${message.reason}`));
      });
      links.set(tmId, link);
      void link.closed.then((why) => {
        if (!ending) lost.add(tmId);
        for (const slot of slots) listeners.get(slot)?.gone(new Error(`TaskManager ${tmId} at ${assignment.host}:${assignment.port} was lost: ${why.message}`));
      });
    }
  } catch (err) {
    for (const link of links.values()) link.close();
    throw err;
  }
  const connections: SlotConnection[] = assignments.map((a, slot) => {
    const link = links.get(a.taskManagerId)!;
    return {
      name: `task slot ${slot} on TaskManager ${a.taskManagerId}`,
      post: (message) => {
        if (message.type !== 'deploy') link.send({ type: 'to-slot', slot, message });
        else link.send({ type: 'deploy', deploy: { ...message, peers: message.peers.map((p) => ({ slot: p.slot, sameTaskManager: assignments[p.slot]!.taskManagerId === a.taskManagerId })) } });
      },
      start: (handlers) => void listeners.set(slot, handlers),
      terminate: () => link.close(),
    };
  });
  const network = (a: SlotAssignment): SlotNetwork => ({ bindHost: a.host, advertisedHost: a.host, ...(options.secret === undefined ? {} : { secret: options.secret }), ...(options.heartbeatTimeoutMs === undefined ? {} : { heartbeatTimeoutMs: options.heartbeatTimeoutMs }) });
  const attempt = runSlotAttempt(spec, connections, (slot): DeployMessage => {
    const peers = assignments.flatMap((_, other) => (other === slot ? [] : [{ slot: other }]));
    return deployMessage(spec, options, slot, slotCount, peers, network(assignments[slot]!));
  }, { ...(options.cancellationTimeoutMs === undefined ? {} : { cancellationTimeoutMs: options.cancellationTimeoutMs }), ...(options.log === undefined ? {} : { log: options.log }) });
  // The attempt is over: the TaskManagers end its slots when the connection closes.
  void attempt.done
    .catch(() => undefined)
    .finally(() => {
      ending = true;
      links.forEach((l) => l.close());
    });
  return attempt;
}

/** An attempt whose slots are still being acquired: calls wait for it, a failure meanwhile wins. */
function deferred(spec: AttemptSpec, attempt: Promise<DeployedAttempt>): DeployedAttempt {
  let ready: DeployedAttempt | undefined;
  let failedEarly: Error | undefined;
  let rejectEarly!: (error: Error) => void;
  const early = new Promise<never>((_, reject) => (rejectEarly = reject));
  early.catch(() => undefined);
  const started = attempt.then((a) => {
    ready = a;
    if (failedEarly !== undefined) a.fail(failedEarly);
    return a;
  });
  started.catch(() => undefined);
  const running = Promise.race([started.then((a) => a.running), early]);
  running.catch(() => undefined);
  const done = Promise.race([started.then((a) => a.done), early]);
  done.catch(() => undefined);
  const failed = Promise.race([started.then((a) => a.failed), early]);
  failed.catch(() => undefined);
  return {
    subtaskCount: spec.chains.reduce((n, c) => n + c.parallelism, 0),
    running,
    // Checkpoints start only once `running` resolved, so these find the attempt deployed.
    injectBarrier: (id, savepoint, drain) => ready?.injectBarrier(id, savepoint, drain),
    notifyComplete: (id) => ready?.notifyComplete(id),
    notifyAborted: (id) => ready?.notifyAborted(id),
    release: () => ready?.release(),
    fail: (error) => {
      if (ready !== undefined) return ready.fail(error);
      failedEarly ??= error;
      rejectEarly(error);
    },
    failed,
    done,
    recordCounts: () => ready?.recordCounts() ?? [],
  };
}
