/**
 * Flink's REST shapes computed from a job's durable record: task counts per state, the plan,
 * one vertex's subtasks, checkpoint details, and the cluster's configuration with secrets
 * masked. Pure, so each shape is tested without a cluster.
 */
import { NotFoundError } from './cluster-api.ts';
import type { SnapshotProgress, SubtaskSnapshotStats } from '../checkpoint/checkpoint-coordinator.ts';
import { type RunningStats, type StatsSummary, addValue, summarize } from './checkpoint-summary.ts';
import type {
  CheckpointDetails,
  CheckpointEntry,
  CheckpointStatistics,
  JobPlanInfo,
  JobState,
  JobVertexDetails,
  TaskCheckpointDetails,
  TaskCheckpointStatistics,
  TaskCounts,
  TaskState,
} from './cluster-api.ts';
import { inProgressEntry } from './job-master.ts';
import type { JobRecord } from './job-store.ts';
import type { RecordCount, JobVertexInfo } from './jobmaster-protocol.ts';

const TASK_STATES: readonly TaskState[] = ['created', 'scheduled', 'deploying', 'running', 'finished', 'canceling', 'canceled', 'failed', 'reconciling', 'initializing'];

/**
 * What the job's subtasks are doing, from the job's state: the JobManager does not follow single
 * subtasks (the JobMaster thread reports no per-subtask states), so all of them count in the state the job's
 * state implies. A job not yet built has no tasks.
 */
export function taskState(state: JobState): TaskState {
  switch (state) {
    case 'INITIALIZING':
    case 'CREATED':
    case 'RESTARTING':
      return 'created';
    case 'RUNNING':
      return 'running';
    case 'FINISHED':
      return 'finished';
    case 'CANCELLING':
    case 'FAILING':
      return 'canceling';
    case 'CANCELED':
    case 'SUSPENDED':
      return 'canceled';
    case 'FAILED':
      return 'failed';
  }
}

export function taskCounts(record: JobRecord): TaskCounts {
  const total = (record.vertices ?? []).reduce((sum, v) => sum + v.parallelism, 0);
  const counts = Object.fromEntries(TASK_STATES.map((s) => [s, 0])) as Record<TaskState, number>;
  counts[taskState(record.state)] = total;
  return { total, ...counts };
}

export function statusCounts(record: JobRecord): Record<Uppercase<TaskState>, number> {
  const { total: _total, ...counts } = taskCounts(record);
  return Object.fromEntries(Object.entries(counts).map(([s, n]) => [s.toUpperCase(), n])) as Record<Uppercase<TaskState>, number>;
}

/** Records into a vertex are its head operator's, records out its last operator's. */
export function vertexRecords(vertex: JobVertexInfo, counts: (uid: string) => RecordCount): RecordCount {
  return { in: counts(vertex.uid).in, out: counts(vertex.tailUid ?? vertex.uid).out };
}

export function jobPlan(record: JobRecord): JobPlanInfo {
  return {
    plan: {
      jid: record.jobId,
      name: record.name,
      type: 'STREAMING',
      nodes: (record.vertices ?? []).map((v) => ({
        id: v.id,
        parallelism: v.parallelism,
        operator: '',
        operator_strategy: '',
        description: v.name,
        ...(v.inputs === undefined || v.inputs.length === 0
          ? {}
          : { inputs: v.inputs.map((input, num) => ({ num, id: input.id, ship_strategy: input.shipStrategy, exchange: 'pipelined_bounded' })) }),
        optimizer_properties: {},
      })),
    },
  };
}

export function vertexDetails(record: JobRecord, vertexId: string, counts: (uid: string, subtask: number) => RecordCount, now: number): JobVertexDetails {
  const vertex = (record.vertices ?? []).find((v) => v.id === vertexId.toLowerCase());
  if (vertex === undefined) throw new NotFoundError(`Job ${record.jobId} has no vertex ${vertexId}. GET /jobs/${record.jobId} lists its vertices.`);
  const start = record.timestamps.RUNNING ?? record.startTime;
  const end = record.endTime > 0 ? record.endTime : -1;
  return {
    id: vertex.id,
    name: vertex.name,
    parallelism: vertex.parallelism,
    maxParallelism: vertex.maxParallelism,
    now,
    subtasks: Array.from({ length: vertex.parallelism }, (_, subtask) => {
      const records = vertexRecords(vertex, (uid) => counts(uid, subtask));
      return {
        subtask,
        status: taskState(record.state).toUpperCase() as Uppercase<TaskState>,
        attempt: record.restarts,
        endpoint: null,
        'start-time': start,
        'end-time': end,
        duration: (end > 0 ? end : now) - start,
        metrics: {
          'read-bytes': 0,
          'read-bytes-complete': false,
          'write-bytes': 0,
          'write-bytes-complete': false,
          'read-records': records.in,
          'read-records-complete': true,
          'write-records': records.out,
          'write-records-complete': true,
        },
        'taskmanager-id': null,
      };
    }),
  };
}

/**
 * An entry without its vertices' parts: as Flink builds those of `GET /jobs/:id/checkpoints`
 * (includeTaskCheckpointStatistics false), and as details of a snapshot whose acknowledgements are not kept.
 */
function listed(entry: CheckpointEntry): CheckpointDetails {
  return { ...entry, tasks: {} };
}

/** `GET /jobs/:id/checkpoints`, with `pending` the snapshots in progress, oldest first. */
export function checkpointingStatistics(r: JobRecord, pending: readonly SnapshotProgress[], now: number): CheckpointStatistics {
  const latestCompleted = r.checkpointHistory.find((c) => c.status === 'COMPLETED' && !c.is_savepoint) ?? null;
  // Newest first, as the history is.
  const inProgress = [...pending].reverse().map((p) => listed(inProgressEntry(p, now)));
  return {
    // Flink's total counts every triggered snapshot, those in progress too.
    counts: { restored: r.restoreCount ?? (r.restored === null ? 0 : 1), total: r.checkpointCounts.completed + r.checkpointCounts.failed + inProgress.length, in_progress: inProgress.length, completed: r.checkpointCounts.completed, failed: r.checkpointCounts.failed },
    summary: {
      checkpointed_size: summarize(r.checkpointSummary?.checkpointedSize),
      state_size: summarize(r.checkpointSummary?.stateSize),
      end_to_end_duration: summarize(r.checkpointSummary?.duration),
    },
    latest: {
      completed: latestCompleted === null ? null : listed(latestCompleted),
      savepoint: r.latestSavepoint === null ? null : listed(r.latestSavepoint),
      failed: r.latestFailed === null ? null : listed(r.latestFailed),
      restored: r.restored,
    },
    // Flink's history (web.checkpoints.history) holds pending ones among its 10.
    history: [...inProgress, ...r.checkpointHistory.map(listed)].slice(0, Math.max(10, inProgress.length)),
  };
}

/** Flink keeps statistics of the latest checkpoints only (`web.checkpoints.history`), and says so for older ones. */
function storedEntry(record: JobRecord, checkpointId: number): CheckpointEntry {
  const found = [...record.checkpointHistory, record.latestSavepoint, record.latestFailed].find((c) => c !== null && c.id === checkpointId);
  if (found == null) throw new NotFoundError(`Could not find checkpointing statistics for checkpoint ${checkpointId}.`);
  return found;
}

/**
 * `GET /jobs/:id/checkpoints/details/:checkpointId`: a snapshot in progress (of `pending`) or of
 * the history, with each vertex's part in `tasks` (Flink's includeTaskCheckpointStatistics). Only
 * a completed snapshot's are known: the record keeps per-subtask acknowledgements of the
 * completed snapshots it lists, and the JobMaster thread reports only job-wide counts of pending
 * ones; a failed or pending snapshot has `tasks: {}`.
 */
export function checkpointDetails(record: JobRecord, checkpointId: number, pending: readonly SnapshotProgress[] = [], now = Date.now()): CheckpointDetails {
  const inProgress = pending.find((p) => p.id === checkpointId);
  if (inProgress !== undefined) return listed(inProgressEntry(inProgress, now));
  const entry = storedEntry(record, checkpointId);
  const acks = entry.status === 'COMPLETED' ? record.checkpointSubtasks?.[String(checkpointId)] : undefined;
  if (acks === undefined) return listed(entry);
  const vertices = record.vertices ?? [];
  return {
    ...entry,
    tasks: Object.fromEntries(vertices.map((v, chain) => [v.id, taskStatistics(entry, v, acks.filter((s) => s.chain === chain))])),
  };
}

/**
 * One vertex's part of a snapshot, as Flink's TaskStateStats sums it over the subtasks that
 * acknowledged: the latest acknowledgement and the duration up to it are -1 before the first.
 */
function taskStatistics(entry: CheckpointEntry, vertex: JobVertexInfo, acks: readonly SubtaskSnapshotStats[]): TaskCheckpointStatistics {
  const latestAck = acks.length === 0 ? -1 : Math.max(...acks.map((s) => s.ackAt));
  return {
    id: entry.id,
    status: entry.status,
    latest_ack_timestamp: latestAck,
    checkpointed_size: acks.reduce((sum, s) => sum + s.size, 0),
    // An incremental checkpoint's subtask writes `size` and holds `stateSize` (Flink's two figures).
    state_size: acks.reduce((sum, s) => sum + (s.stateSize ?? s.size), 0),
    end_to_end_duration: latestAck < 0 ? -1 : Math.max(0, latestAck - entry.trigger_timestamp),
    alignment_buffered: 0,
    processed_data: 0,
    persisted_data: 0,
    num_subtasks: vertex.parallelism,
    num_acknowledged_subtasks: acks.length,
  };
}

const ZERO: StatsSummary = summarize(undefined);

function summaryOf(values: readonly number[]): StatsSummary {
  let stats: RunningStats | undefined;
  for (const v of values) stats = addValue(stats, v);
  return summarize(stats);
}

/**
 * One vertex's subtasks in a completed checkpoint (Flink's TaskCheckpointStatisticsWithSubtaskDetails):
 * each subtask's synchronous and asynchronous durations as its ack reported them. Kept for the
 * checkpoints of the history and the latest savepoint; a chain of operators is one vertex.
 */
export function checkpointSubtaskDetails(record: JobRecord, checkpointId: number, vertexId: string): TaskCheckpointDetails {
  const entry = storedEntry(record, checkpointId);
  const chain = (record.vertices ?? []).findIndex((v) => v.id === vertexId.toLowerCase());
  const vertex = record.vertices?.[chain];
  if (vertex === undefined) throw new NotFoundError(`There is no vertex ${vertexId} in job ${record.jobId}.`);
  const all = record.checkpointSubtasks?.[String(checkpointId)];
  if (entry.status !== 'COMPLETED' || all === undefined) throw new NotFoundError(`Could not find subtask checkpointing statistics for checkpoint ${checkpointId} of vertex ${vertexId}.`);
  const mine = all.filter((s) => s.chain === chain).sort((a, b) => a.subtask - b.subtask);
  const subtasks = mine.map((s) => ({
    index: s.subtask,
    status: 'completed' as const,
    ack_timestamp: s.ackAt,
    end_to_end_duration: s.ackAt - entry.trigger_timestamp,
    // An incremental checkpoint's subtask writes `size` and holds `stateSize` (Flink's two figures).
    state_size: s.stateSize ?? s.size,
    checkpointed_size: s.size,
    checkpoint: { sync: Math.round(s.syncMs), async: Math.round(s.asyncMs) },
    alignment: { buffered: 0, processed: 0, persisted: 0, duration: 0 },
    start_delay: 0,
    unaligned_checkpoint: false,
    aborted: false,
  }));
  return {
    ...taskStatistics(entry, vertex, mine),
    status: 'COMPLETED',
    summary: {
      checkpointed_size: summaryOf(subtasks.map((s) => s.checkpointed_size)),
      state_size: summaryOf(subtasks.map((s) => s.state_size)),
      end_to_end_duration: summaryOf(subtasks.map((s) => s.end_to_end_duration)),
      checkpoint_duration: { sync: summaryOf(subtasks.map((s) => s.checkpoint.sync)), async: summaryOf(subtasks.map((s) => s.checkpoint.async)) },
      alignment: { buffered: ZERO, processed: ZERO, persisted: ZERO, duration: ZERO },
      start_delay: ZERO,
    },
    subtasks,
  };
}

/** Flink's sensitive key fragments (GlobalConfiguration.SENSITIVE_KEYS): their values are shown as `******`. */
const SENSITIVE = ['password', 'secret', 'fs.azure.account.key', 'apikey', 'api-key', 'auth-params', 'service-key', 'token', 'basic-auth', 'jaas.config', 'http-headers'];

export function maskedConfiguration(config: Readonly<Record<string, string>>): { key: string; value: string }[] {
  return Object.entries(config)
    .sort(([a], [b]) => a.localeCompare(b))
    .map(([key, value]) => ({ key, value: SENSITIVE.some((s) => key.toLowerCase().includes(s)) ? '******' : value }));
}
