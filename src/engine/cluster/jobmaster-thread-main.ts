/**
 * A job's JobMaster thread (a worker thread of the JobManager process): builds the job from its
 * module (user code runs here, never on the JobManager's main thread), runs its checkpoint
 * coordinator and its one restart loop (task failures and lost TaskManagers, as the job's restart
 * strategy allows), places every attempt's subtasks on TaskManagers' slots from the JobManager's
 * slot pool, and reports to the main thread over its port. The thread ends when the main thread
 * terminates it after `terminated`, or with the process.
 */
import { parentPort } from 'node:worker_threads';
import { randomBytes } from 'node:crypto';
import { effectiveRestartStrategy, type JobClient, JobFailedError, startLocally } from '../runtime/local-executor.ts';
import { DEFAULT_STATE_BACKEND } from '../state/state-backend-type.ts';
import { jobSettingsFromConfig } from './job-settings.ts';
import { prepareJob } from './prepare-job.ts';
import { type SlotAssignment, taskManagerDeployment } from './taskmanager/task-manager-deployment.ts';
import { taskCancellationTimeoutMs } from './taskmanager/task-cancellation.ts';
import { networkOptions } from '../../config.ts';
import { UserError } from '../../errors.ts';
import type { FromJobMasterThread, StartMessage, ToJobMasterThread } from './jobmaster-protocol.ts';
import type { SlotJobSource } from './taskmanager/slot-protocol.ts';

/** How often record counts go to the main thread (Flink's metrics are also sampled, not live). */
const COUNTS_EVERY_MS = 1000;

const port = parentPort;
if (port === null) throw new Error('jobmaster-thread-main runs as a worker thread of the JobManager');

let client: JobClient | undefined;
/** Slot requests waiting for the slot pool's answer. */
const slotRequests = new Map<string, { resolve: (slots: readonly SlotAssignment[]) => void; reject: (error: Error) => void }>();
/** Until its first slots arrive the job is CREATED (Flink: waiting for resources). */
let slotsArrived = false;
let cancelled = false;

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

function send(message: FromJobMasterThread): void {
  port!.postMessage(message);
}

function describe(err: unknown): string {
  // Without "Job <id> (<name>) failed: ": the job's id is beside the cause wherever it is shown (`flink run` printed it twice).
  if (err instanceof JobFailedError) return err.failure;
  return err instanceof Error ? err.message : String(err);
}

port.on('message', (message: ToJobMasterThread) => {
  switch (message.type) {
    case 'start':
      void start(message);
      return;
    case 'cancel':
      cancelled = true;
      if (client === undefined) send({ type: 'terminated', status: 'CANCELED' });
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
      operation(message.requestId, () =>
        message.stop ? client!.stopWithSavepoint(message.targetDirectory, { drain: message.drain, type }) : message.cancelJob === true ? client!.cancelWithSavepoint(message.targetDirectory, { type }) : client!.triggerSavepoint(message.targetDirectory, { type }),
      );
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

/** How a slot builds the job, as this thread did; a TaskManager fetches the bundle by its key into its own cache (it may run on another host). */
function slotSource(message: StartMessage): SlotJobSource {
  return {
    jobFile: message.jobFile,
    programArgs: message.programArgs,
    config: message.config,
    ...(message.parallelism === undefined ? {} : { parallelism: message.parallelism }),
    ...(message.bundle === undefined ? {} : { bundle: { key: message.bundle.key } }),
  };
}

async function start(message: StartMessage): Promise<void> {
  try {
    const config = new Map(Object.entries(message.config));
    const settings = jobSettingsFromConfig(config, message.parallelism);
    const restore = message.restoreFrom === undefined ? undefined : { path: message.restoreFrom, allowNonRestoredState: message.allowNonRestoredState };
    const prepared = await prepareJob(message.jobFile, message.programArgs, settings, restore, message.bundle?.path);
    send({ type: 'registered', jobName: prepared.jobName, vertices: prepared.vertices, checkpointConfig: prepared.options.checkpoint!, restartStrategy: effectiveRestartStrategy(prepared.options), stateBackend: prepared.options.stateBackend ?? DEFAULT_STATE_BACKEND });
    if (cancelled) return send({ type: 'terminated', status: 'CANCELED' });
    client = startLocally(prepared.graph, {
      ...prepared.options,
      deployment: taskManagerDeployment({ source: slotSource(message), allowNonRestoredState: message.allowNonRestoredState, acquireSlots, ...networkSettingsForSlots(config), cancellationTimeoutMs: taskCancellationTimeoutMs(config), log: (line) => send({ type: 'log', line }) }),
      jobId: message.jobId,
      ...(message.resume === undefined ? {} : { resume: message.resume }),
      events: {
        onStatus: (status) => {
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
    send({ type: 'terminated', status: result.status });
  } catch (err) {
    send({ type: 'terminated', status: 'FAILED', failure: describe(err) });
  }
}
