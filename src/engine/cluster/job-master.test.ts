import { describe, expect, it } from 'vitest';
import type { SnapshotStats } from '../checkpoint/checkpoint-coordinator.ts';
import { endedEntry, jobMasterCancelGraceMs } from './job-master.ts';

const subtask = (chain: number, index: number): NonNullable<SnapshotStats['subtasks']>[number] => ({ chain, subtask: index, syncMs: 1, asyncMs: 2, ackAt: 1_040, size: 10 });

describe("REST's history entry of a snapshot that ended, in Flink's shape", () => {
  it('a completed checkpoint: its path, sizes, and every subtask acknowledged', () => {
    const stats: SnapshotStats = { id: 3, kind: 'checkpoint', triggeredAt: 1_000, endedAt: 1_050, size: 40, stateSize: 100, incremental: true, location: '/ck/job/chk-3', subtasks: [subtask(0, 0), subtask(0, 1), subtask(1, 0), subtask(1, 1)] };
    expect(endedEntry(stats, 'COMPLETED')).toEqual({
      id: 3,
      status: 'COMPLETED',
      is_savepoint: false,
      checkpoint_type: 'CHECKPOINT',
      trigger_timestamp: 1_000,
      latest_ack_timestamp: 1_050,
      state_size: 100,
      checkpointed_size: 40,
      end_to_end_duration: 50,
      external_path: 'file:/ck/job/chk-3',
      discarded: false,
      num_subtasks: 4,
      num_acknowledged_subtasks: 4,
    });
  });

  it('a failed checkpoint: when it failed and why, as FailedCheckpointStatistics', () => {
    const stats: SnapshotStats = { id: 4, kind: 'checkpoint', triggeredAt: 2_000, endedAt: 2_016, size: 0, location: '/ck/job/chk-4', failure: 'Checkpoint expired before completing: it took longer than execution.checkpointing.timeout (10 ms).' };
    expect(endedEntry(stats, 'FAILED')).toMatchObject({ id: 4, status: 'FAILED', failure_timestamp: 2_016, failure_message: 'Checkpoint expired before completing: it took longer than execution.checkpointing.timeout (10 ms).' });
    expect(endedEntry(stats, 'FAILED')).not.toHaveProperty('external_path');
  });
});

describe("a cancelled job's JobMaster thread is terminated only after its slots had their task.cancellation.timeout", () => {
  it('waits the timeout and 30 s more, and for ever with 0, as the slots do', () => {
    expect(jobMasterCancelGraceMs({}, true)).toBe(210_000);
    expect(jobMasterCancelGraceMs({ 'task.cancellation.timeout': '10 s' }, true)).toBe(40_000);
    expect(jobMasterCancelGraceMs({ 'task.cancellation.timeout': '0' }, true)).toBeUndefined();
    expect(jobMasterCancelGraceMs({ 'task.cancellation.timeout': '2147483647' }, true)).toBe(2_147_483_647);
    // Submitted over REST unchecked: the thread fails the job with the key's line; the cancel still ends.
    expect(jobMasterCancelGraceMs({ 'task.cancellation.timeout': 'soon' }, true)).toBe(210_000);
  });

  it('30 s while the thread still builds the job (no slot runs yet; its module may loop for ever), whatever the timeout', () => {
    expect(jobMasterCancelGraceMs({}, false)).toBe(30_000);
    expect(jobMasterCancelGraceMs({ 'task.cancellation.timeout': '0' }, false)).toBe(30_000);
  });
});
