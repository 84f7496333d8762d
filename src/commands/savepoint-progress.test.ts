import { describe, expect, it } from 'vitest';
import type { CheckpointEntry, CheckpointStatistics } from '../engine/cluster/cluster-api.ts';
import { SavepointProgress, savepointProgressLine } from './savepoint-progress.ts';

const inProgress: CheckpointEntry = {
  id: 12,
  status: 'IN_PROGRESS',
  is_savepoint: true,
  checkpoint_type: 'SAVEPOINT',
  trigger_timestamp: 1000,
  latest_ack_timestamp: 4000,
  state_size: 1_258_291,
  checkpointed_size: 1_258_291,
  end_to_end_duration: 4_900,
  discarded: false,
  num_subtasks: 6,
  num_acknowledged_subtasks: 3,
};
const completedCheckpoint: CheckpointEntry = { ...inProgress, id: 11, status: 'COMPLETED', is_savepoint: false, checkpoint_type: 'CHECKPOINT' };

function stats(history: CheckpointEntry[]): CheckpointStatistics {
  return { history } as unknown as CheckpointStatistics; // only the history is read
}

function terminal(): { write(text: string): boolean; isTTY: boolean; text: string } {
  return { isTTY: true, text: '', write(t: string) { this.text += t; return true; } };
}

describe('savepoint progress line', () => {
  it('says the acknowledged subtasks of all, the bytes written and the whole seconds so far', () => {
    expect(savepointProgressLine(inProgress)).toBe('Savepoint 12: 3/6 subtasks acknowledged, 1.2 MiB written, 4 s');
  });

  it('draws the savepoint in progress only (not a checkpoint in flight), redraws in place and clears once', async () => {
    const out = terminal();
    let history: CheckpointEntry[] = [{ ...inProgress, id: 13, is_savepoint: false, checkpoint_type: 'CHECKPOINT' }, completedCheckpoint];
    const progress = new SavepointProgress(out, true, async () => stats(history));
    await progress.update();
    expect(out.text).toBe('');
    history = [inProgress, completedCheckpoint];
    await progress.update();
    await progress.update();
    progress.clear();
    progress.clear();
    const line = '\r\x1b[2KSavepoint 12: 3/6 subtasks acknowledged, 1.2 MiB written, 4 s';
    expect(out.text).toBe(`${line}${line}\r\x1b[2K`);
  });

  it('asks nothing and draws nothing when disabled, and a failed request draws nothing', async () => {
    const out = terminal();
    let asked = 0;
    await new SavepointProgress(out, false, async () => (asked++, stats([inProgress]))).update();
    expect(asked).toBe(0);
    const failing = new SavepointProgress(out, true, () => Promise.reject(new Error('connection refused')));
    await failing.update();
    failing.clear();
    expect(out.text).toBe('');
  });
});
