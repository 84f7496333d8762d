import { describe, expect, it } from 'vitest';
import { NotFoundError } from './cluster-api.ts';
import type { CheckpointEntry } from './cluster-api.ts';
import { checkpointDetails, checkpointSubtaskDetails, checkpointingStatistics, jobPlan, maskedConfiguration, statusCounts, taskCounts, vertexDetails, vertexRecords } from './job-views.ts';
import type { JobRecord } from './job-store.ts';
import type { JobVertexInfo } from './jobmaster-protocol.ts';

const SOURCE = 'cbc357ccb763df2852fee8c4fc7d55f2';
const COUNT = '90bea66de1c231edf33913ecd54406c1';

const vertices: JobVertexInfo[] = [
  { id: SOURCE, uid: 'words', name: 'Source: words -> Map', parallelism: 2, maxParallelism: 128, tailUid: 'to-count', inputs: [] },
  { id: COUNT, uid: 'counts', name: 'Keyed Reduce -> Sink: Sink', parallelism: 3, maxParallelism: 128, tailUid: 'sink', inputs: [{ id: SOURCE, shipStrategy: 'HASH' }] },
];

function entry(id: number, status: CheckpointEntry['status'] = 'COMPLETED'): CheckpointEntry {
  return { id, status, is_savepoint: false, checkpoint_type: 'CHECKPOINT', trigger_timestamp: id * 1000, latest_ack_timestamp: id * 1000 + 50, state_size: 10, checkpointed_size: 10, end_to_end_duration: 50, discarded: false };
}

function record(overrides: Partial<JobRecord> = {}): JobRecord {
  return {
    version: 1, jobId: 'ab'.repeat(16), name: 'word count', submit: { jobFile: '/j.ts', programArgs: [] }, config: {}, state: 'RUNNING',
    startTime: 1000, endTime: -1, lastModification: 1500, timestamps: { INITIALIZING: 1000, RUNNING: 1200 }, restarts: 1, retained: [], nextCheckpointId: 5,
    checkpointCounts: { completed: 3, failed: 1 }, checkpointHistory: [entry(4, 'FAILED'), entry(3), entry(2)], latestSavepoint: null, latestFailed: entry(4, 'FAILED'), restored: null,
    vertices,
    ...overrides,
  };
}

describe('job views', () => {
  it('counts every subtask in the state the job is in, lower-case with a total, and upper-case for job details', () => {
    expect(taskCounts(record())).toEqual({ total: 5, created: 0, scheduled: 0, deploying: 0, running: 5, finished: 0, canceling: 0, canceled: 0, failed: 0, reconciling: 0, initializing: 0 });
    expect(taskCounts(record({ state: 'FINISHED' }))).toMatchObject({ total: 5, running: 0, finished: 5 });
    expect(taskCounts(record({ state: 'INITIALIZING', vertices: undefined }))).toMatchObject({ total: 0, created: 0 });
    expect(statusCounts(record({ state: 'CANCELLING' }))).toEqual({ CREATED: 0, SCHEDULED: 0, DEPLOYING: 0, RUNNING: 0, FINISHED: 0, CANCELING: 5, CANCELED: 0, FAILED: 0, RECONCILING: 0, INITIALIZING: 0 });
  });

  it("takes a vertex's records in from its head operator and out from its last", () => {
    const counts: Record<string, { in: number; out: number }> = { counts: { in: 100, out: 100 }, sink: { in: 8, out: 0 } };
    expect(vertexRecords(vertices[1]!, (uid) => counts[uid] ?? { in: 0, out: 0 })).toEqual({ in: 100, out: 0 });
    // A vertex from a record written before vertices were chains is one operator.
    expect(vertexRecords({ id: SOURCE, uid: 'counts', name: 'counts', parallelism: 1, maxParallelism: 128 }, (uid) => counts[uid]!)).toEqual({ in: 100, out: 100 });
  });

  it("gives the plan in Flink's JobPlanInfo shape, inputs only where there are some", () => {
    expect(jobPlan(record())).toEqual({
      plan: {
        jid: 'ab'.repeat(16),
        name: 'word count',
        type: 'STREAMING',
        nodes: [
          { id: SOURCE, parallelism: 2, operator: '', operator_strategy: '', description: 'Source: words -> Map', optimizer_properties: {} },
          { id: COUNT, parallelism: 3, operator: '', operator_strategy: '', description: 'Keyed Reduce -> Sink: Sink', inputs: [{ num: 0, id: SOURCE, ship_strategy: 'HASH', exchange: 'pipelined_bounded' }], optimizer_properties: {} },
        ],
      },
    });
  });

  it('gives one entry per subtask with its own records, and 404 for a vertex the job does not have', () => {
    const details = vertexDetails(record(), COUNT.toUpperCase(), (uid, i) => ({ in: uid === 'counts' ? 10 * (i + 1) : 0, out: uid === 'sink' ? i : 99 }), 2000);
    expect(details).toMatchObject({ id: COUNT, name: 'Keyed Reduce -> Sink: Sink', parallelism: 3, maxParallelism: 128, now: 2000 });
    expect(details.subtasks.map((s) => [s.subtask, s.status, s.attempt, s.metrics['read-records'], s.metrics['write-records']])).toEqual([
      [0, 'RUNNING', 1, 10, 0],
      [1, 'RUNNING', 1, 20, 1],
      [2, 'RUNNING', 1, 30, 2],
    ]);
    expect(details.subtasks[0]).toMatchObject({ endpoint: null, 'taskmanager-id': null, 'start-time': 1200, 'end-time': -1, duration: 800 });
    expect(() => vertexDetails(record(), 'ff'.repeat(16), () => ({ in: 0, out: 0 }), 0)).toThrow(NotFoundError);
  });

  it("finds a checkpoint's statistics in the history, and says Flink's words for one it no longer has", () => {
    // Without the per-subtask acknowledgements (a failed checkpoint, or a record that kept none), no vertex's part is known.
    expect(checkpointDetails(record(), 3)).toEqual({ ...entry(3), tasks: {} });
    expect(checkpointDetails(record(), 4)).toEqual({ ...entry(4, 'FAILED'), tasks: {} });
    expect(() => checkpointDetails(record(), 1)).toThrow(new NotFoundError('Could not find checkpointing statistics for checkpoint 1.'));
  });

  it("gives a completed checkpoint's part of each vertex in tasks, as Flink's TaskCheckpointStatistics", () => {
    const r = record({
      checkpointSubtasks: {
        '3': [
          { chain: 1, subtask: 1, syncMs: 0.4, asyncMs: 30.6, ackAt: 3040, size: 200, stateSize: 700 },
          { chain: 1, subtask: 0, syncMs: 12.2, asyncMs: 20, ackAt: 3030, size: 100 },
        ],
      },
    });
    expect(checkpointDetails(r, 3)).toEqual({
      ...entry(3),
      tasks: {
        // Flink's TaskStateStats before any acknowledgement: -1 for the latest one and the duration.
        [SOURCE]: { id: 3, status: 'COMPLETED', latest_ack_timestamp: -1, checkpointed_size: 0, state_size: 0, end_to_end_duration: -1, alignment_buffered: 0, processed_data: 0, persisted_data: 0, num_subtasks: 2, num_acknowledged_subtasks: 0 },
        [COUNT]: { id: 3, status: 'COMPLETED', latest_ack_timestamp: 3040, checkpointed_size: 300, state_size: 800, end_to_end_duration: 40, alignment_buffered: 0, processed_data: 0, persisted_data: 0, num_subtasks: 3, num_acknowledged_subtasks: 2 },
      },
    });
  });

  it('gives a snapshot in progress as its IN_PROGRESS entry, with no vertex known yet', () => {
    const pending = [{ id: 5, kind: 'savepoint' as const, triggeredAt: 5000, acknowledged: 2, total: 5, bytes: 64, latestAckAt: 5100 }];
    expect(checkpointDetails(record(), 5, pending, 5400)).toMatchObject({ id: 5, status: 'IN_PROGRESS', is_savepoint: true, num_subtasks: 5, num_acknowledged_subtasks: 2, end_to_end_duration: 400, tasks: {} });
  });

  it('lists the history and the latest snapshots with tasks {}, as Flink builds them without per-task statistics', () => {
    const r = record({ latestSavepoint: { ...entry(2), is_savepoint: true, checkpoint_type: 'SAVEPOINT' }, checkpointSubtasks: { '3': [{ chain: 0, subtask: 0, syncMs: 1, asyncMs: 1, ackAt: 3010, size: 5 }] } });
    const pending = [{ id: 6, kind: 'checkpoint' as const, triggeredAt: 6000, acknowledged: 0, total: 5, bytes: 0, latestAckAt: 6000 }];
    const stats = checkpointingStatistics(r, pending, 6100);
    expect(stats.history.map((e) => [e.id, e.status, e.tasks])).toEqual([
      [6, 'IN_PROGRESS', {}],
      [4, 'FAILED', {}],
      [3, 'COMPLETED', {}],
      [2, 'COMPLETED', {}],
    ]);
    expect([stats.latest.completed, stats.latest.savepoint, stats.latest.failed].map((e) => [e?.id, e?.tasks])).toEqual([
      [3, {}],
      [2, {}],
      [4, {}],
    ]);
    expect(stats.counts).toEqual({ restored: 0, total: 5, in_progress: 1, completed: 3, failed: 1 });
  });

  it("gives a vertex's subtasks in a completed checkpoint with their sync and async durations (Flink's checkpoint_duration)", () => {
    const r = record({
      checkpointSubtasks: {
        '3': [
          { chain: 1, subtask: 1, syncMs: 0.4, asyncMs: 30.6, ackAt: 3040, size: 200 },
          { chain: 0, subtask: 0, syncMs: 0.1, asyncMs: 5, ackAt: 3010, size: 50 },
          { chain: 1, subtask: 0, syncMs: 12.2, asyncMs: 20, ackAt: 3030, size: 100 },
        ],
      },
    });
    const details = checkpointSubtaskDetails(r, 3, COUNT.toUpperCase());
    expect(details).toMatchObject({ id: 3, status: 'COMPLETED', latest_ack_timestamp: 3040, state_size: 300, end_to_end_duration: 40, num_subtasks: 3, num_acknowledged_subtasks: 2 });
    expect(details.subtasks.map((s) => [s.index, s.checkpoint.sync, s.checkpoint.async, s.end_to_end_duration, s.state_size])).toEqual([
      [0, 12, 20, 30, 100],
      [1, 0, 31, 40, 200],
    ]);
    expect(details.summary.checkpoint_duration.sync).toMatchObject({ min: 0, max: 12 });
    expect(() => checkpointSubtaskDetails(r, 3, 'ff'.repeat(16))).toThrow(NotFoundError);
    expect(() => checkpointSubtaskDetails(r, 2, COUNT)).toThrow(new NotFoundError(`Could not find subtask checkpointing statistics for checkpoint 2 of vertex ${COUNT}.`));
    expect(() => checkpointSubtaskDetails(r, 4, COUNT)).toThrow(NotFoundError);
  });

  it('masks the values of sensitive keys, as Flink does', () => {
    expect(maskedConfiguration({ 's3.secret-key': 'hunter2', 'rest.port': '8081', 'postgres.password': 'pw', 's3.access-key': 'AKIA' })).toEqual([
      { key: 'postgres.password', value: '******' },
      { key: 'rest.port', value: '8081' },
      { key: 's3.access-key', value: 'AKIA' },
      { key: 's3.secret-key', value: '******' },
    ]);
  });
});
