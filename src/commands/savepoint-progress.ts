/**
 * The line `flink savepoint` and `flink stop` draw on a terminal while they wait: how many
 * subtasks acknowledged the savepoint and the bytes they wrote, from the JobManager's IN_PROGRESS
 * entry (GET /jobs/:id/checkpoints). Off a terminal, or with --json, it asks and draws nothing,
 * so scripts and golden outputs see only the final lines.
 */
import type { CheckpointEntry, CheckpointStatistics } from '../engine/cluster/cluster-api.ts';
import type { Output } from '../output/context.ts';
import { formatBytes } from '../output/bytes.ts';

const CLEAR_LINE = '\r\x1b[2K';

/** `Savepoint 12: 3/6 subtasks acknowledged, 1.2 MiB written, 4 s` */
export function savepointProgressLine(entry: CheckpointEntry): string {
  const subtasks = `${entry.num_acknowledged_subtasks ?? 0}/${entry.num_subtasks ?? 0} subtasks acknowledged`;
  return `Savepoint ${entry.id}: ${subtasks}, ${formatBytes(entry.checkpointed_size)} written, ${Math.floor(entry.end_to_end_duration / 1000)} s`;
}

/** The newest savepoint in progress: the one this command triggered (Flink takes one savepoint at a time). */
export function savepointInProgress(stats: CheckpointStatistics): CheckpointEntry | undefined {
  return stats.history.find((e) => e.status === 'IN_PROGRESS' && e.is_savepoint);
}

export class SavepointProgress {
  #shown = false;

  constructor(
    private readonly out: Output,
    /** On a terminal stderr and without --json. */
    private readonly enabled: boolean,
    private readonly fetch: () => Promise<CheckpointStatistics>,
  ) {}

  /** Asks the JobManager and redraws; a failed request draws nothing (the wait itself reports real trouble). */
  async update(): Promise<void> {
    if (!this.enabled) return;
    const entry = await this.fetch().then(savepointInProgress, () => undefined);
    if (entry === undefined) return;
    this.out.write(`${CLEAR_LINE}${savepointProgressLine(entry)}`);
    this.#shown = true;
  }

  /** Removes the line, so the final lines start on a clean one. */
  clear(): void {
    if (this.#shown) this.out.write(CLEAR_LINE);
    this.#shown = false;
  }
}
