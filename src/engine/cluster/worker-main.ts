/**
 * A job's worker process: builds the job from its module, runs its subtasks and checkpoint
 * coordinator (restarting them in place after task failures, as the restart strategy allows),
 * and reports to the JobManager over the IPC channel. When that channel closes the JobManager
 * is gone: the worker kills itself at once, so a new JobManager's worker is never doubled by an
 * orphan that still commits output.
 */
import { effectiveRestartStrategy, type JobClient, startLocally } from '../runtime/local-executor.ts';
import { DEFAULT_STATE_BACKEND } from '../state/state-backend-type.ts';
import { jobSettingsFromConfig } from './job-settings.ts';
import { defaultHeapLimitMb, heapExhaustionMessage, workerHeapLimitMb } from './worker-heap.ts';
import { prepareJob } from './prepare-job.ts';
import { taskSlotsOf } from './taskmanager/task-slots.ts';
import { threadSlotsDeployment } from './taskmanager/thread-slots-deployment.ts';
import { slotHeapMb } from './taskmanager/slot-thread.ts';
import { type SlotAssignment, taskManagerDeployment } from './taskmanager/task-manager-deployment.ts';
import { networkOptions } from '../../config.ts';
import { randomBytes } from 'node:crypto';
import { UserError } from '../../errors.ts';
import type { FromWorker, StartMessage, ToWorker } from './worker-protocol.ts';
import type { SlotJobSource } from './taskmanager/slot-protocol.ts';

/** How often record counts go to the JobManager (Flink's metrics are also sampled, not live). */
const COUNTS_EVERY_MS = 1000;

let client: JobClient | undefined;
/** Slot requests waiting for the JobManager's answer. */
const slotRequests = new Map<string, { resolve: (slots: readonly SlotAssignment[]) => void; reject: (error: Error) => void }>();

/** Slots of TaskManagers for one attempt, from the JobManager's slot pool. */
async function acquireSlots(count: number, lost: readonly string[]): Promise<readonly SlotAssignment[]> {
  const requestId = randomBytes(8).toString('hex');
  const slots = await new Promise<readonly SlotAssignment[]>((resolve, reject) => {
    slotRequests.set(requestId, { resolve, reject });
    send({ type: 'request-slots', requestId, count, lost });
  });
  if (!slotsArrived) {
    slotsArrived = true;
    send({ type: 'status', status: 'RUNNING' });
  }
  return slots;
}

/** What every end of the job's TCP links must agree on. */
function networkSettingsForSlots(config: ReadonlyMap<string, string>): { secret?: string; heartbeatTimeoutMs: number } {
  const { secret, heartbeatTimeoutMs } = networkOptions(config);
  return { ...(secret === undefined ? {} : { secret }), heartbeatTimeoutMs };
}

/** Without TaskManagers the job's subtasks run here and it is RUNNING at once. */
let slotsArrived = true;
let cancelled = false;

function send(message: FromWorker): void {
  process.send?.(message);
}

function exitAfter(message: FromWorker, code: number): void {
  if (process.send === undefined) process.exit(code);
  process.send(message, () => process.exit(code));
}

function describe(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}

process.on('disconnect', () => process.kill(process.pid, 'SIGKILL'));
// The JobManager died while this worker was loading: the disconnect came before the listener.
if (process.send !== undefined && !process.connected) process.kill(process.pid, 'SIGKILL');

process.on('message', (message: ToWorker) => {
  switch (message.type) {
    case 'start':
      void start(message);
      return;
    case 'cancel':
      cancelled = true;
      if (client === undefined) exitAfter({ type: 'terminated', status: 'CANCELED' }, 0);
      else void client.cancel();
      return;
    case 'slots':
      slotRequests.get(message.requestId)?.resolve(message.assignments);
      slotRequests.delete(message.requestId);
      return;
    case 'slots-failed':
      slotRequests.get(message.requestId)?.reject(new UserError(message.message, 1));
      slotRequests.delete(message.requestId);
      return;
    case 'checkpoint':
      operation(message.requestId, () => client!.triggerCheckpoint(message.full === true));
      return;
    case 'savepoint': {
      const type = message.formatType === 'NATIVE' ? 'native' : 'canonical';
      operation(message.requestId, () => (message.stop ? client!.stopWithSavepoint(message.targetDirectory, { drain: message.drain, type }) : client!.triggerSavepoint(message.targetDirectory, { type })));
      return;
    }
  }
});

function operation(requestId: string, run: () => Promise<string>): void {
  if (client === undefined) {
    send({ type: 'operation-failed', requestId, message: 'The job is still starting; try again in a moment.' });
    return;
  }
  run().then(
    (location) => send({ type: 'operation-done', requestId, location, checkpointId: Number(/chk-(\d+)\/?$/.exec(location)?.[1] ?? 0) }),
    (err: unknown) => send({ type: 'operation-failed', requestId, message: describe(err) }),
  );
}

/** How a slot builds the job, as this worker did. */
function slotSource(message: StartMessage): SlotJobSource {
  return { jobFile: message.jobFile, programArgs: message.programArgs, config: message.config, ...(message.parallelism === undefined ? {} : { parallelism: message.parallelism }) };
}

async function start(message: StartMessage): Promise<void> {
  try {
    const config = new Map(Object.entries(message.config));
    const settings = jobSettingsFromConfig(config, message.parallelism);
    const restore = message.restoreFrom === undefined ? undefined : { path: message.restoreFrom, allowNonRestoredState: message.allowNonRestoredState };
    const prepared = await prepareJob(message.jobFile, message.programArgs, settings, restore, message.bundle?.path);
    send({ type: 'registered', jobName: prepared.jobName, vertices: prepared.vertices, checkpointConfig: prepared.options.checkpoint!, restartStrategy: effectiveRestartStrategy(prepared.options), stateBackend: prepared.options.stateBackend ?? DEFAULT_STATE_BACKEND });
    if (cancelled) return exitAfter({ type: 'terminated', status: 'CANCELED' }, 0);
    const slots = taskSlotsOf(config);
    if (message.taskManagers === true) slotsArrived = false;
    const heapLimitMb = workerHeapLimitMb(message.config);
    const backend = prepared.options.stateBackend ?? DEFAULT_STATE_BACKEND;
    client = startLocally(prepared.graph, {
      ...prepared.options,
      ...(message.taskManagers === true
        ? {
            deployment: taskManagerDeployment({
              // A TaskManager fetches the bundle by its key into its own cache: it may run on another host.
              source: { ...slotSource(message), ...(message.bundle === undefined ? {} : { bundle: { key: message.bundle.key } }) },
              allowNonRestoredState: message.allowNonRestoredState,
              acquireSlots,
              ...networkSettingsForSlots(config),
            }),
          }
        : slots > 1
        ? {
            deployment: threadSlotsDeployment({
              slots,
              source: { ...slotSource(message), ...(message.bundle === undefined ? {} : { bundle: message.bundle }) },
              allowNonRestoredState: message.allowNonRestoredState,
              // The task heap is shared by the slots, as a TaskManager's is.
              ...(heapLimitMb === undefined ? {} : { slotHeapMb: slotHeapMb(heapLimitMb, slots)! }),
              heapExhausted: (slot) => {
                // V8 ends only the thread and prints nothing: the job's log says what happened.
                process.stderr.write(`task slot ${slot}: JavaScript heap out of memory (the worker thread reached its limit)\n`);
                return new Error(heapExhaustionMessage(heapLimitMb ?? defaultHeapLimitMb(), backend));
              },
            }),
          }
        : {}),
      jobId: message.jobId,
      ...(message.resume === undefined ? {} : { resume: message.resume }),
      events: {
        onStatus: (status) => {
          // Until its first slots arrive, a job on TaskManagers is CREATED (Flink: waiting for resources).
          if (status === 'RUNNING' && !slotsArrived) return;
          if (status === 'RUNNING' || status === 'RESTARTING') send({ type: 'status', status });
        },
        onTriggered: (id) => send({ type: 'checkpoint-triggered', id }),
        onCompleted: (stats) => send({ type: 'checkpoint-completed', stats }),
        onFailed: (stats) => send({ type: 'checkpoint-failed', stats }),
        onPending: (pending) => send({ type: 'checkpoints-pending', pending }),
        onAttemptFailed: ({ message, exceptionName, stacktrace, taskName }) => send({ type: 'attempt-failed', cause: message, exceptionName, stacktrace, taskName, timestamp: Date.now() }),
        onRestored: ({ id, isSavepoint, location }) => send({ type: 'restored', id, isSavepoint, location, timestamp: Date.now() }),
        onDamaged: ({ checkpoint, problem }, fallback) => send({ type: 'checkpoint-damaged', id: checkpoint.id, location: checkpoint.location, problem, fallback }),
      },
    });
    send({ type: 'status', status: slotsArrived ? 'RUNNING' : 'CREATED' });
    const running = client;
    const reportCounts = (): void => send({ type: 'record-counts', counts: Object.fromEntries(running.recordCounts()), subtasks: Object.fromEntries(running.subtaskRecordCounts()) });
    const counting = setInterval(reportCounts, COUNTS_EVERY_MS);
    const result = await client.result.finally(() => {
      clearInterval(counting);
      reportCounts();
    });
    exitAfter({ type: 'terminated', status: result.status }, 0);
  } catch (err) {
    exitAfter({ type: 'terminated', status: 'FAILED', failure: describe(err) }, 0);
  }
}
