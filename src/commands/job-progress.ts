/**
 * The live line `flink run` shows on a terminal while an attached job runs: state, records the
 * sources emitted in this attempt, the latest checkpoint's id, size and duration, and restarts.
 * Off a terminal it prints nothing, so scripts and logs get only the final lines.
 */
import type { CheckpointStatistics, JobDetails } from '../engine/cluster/cluster-api.ts';
import type { Output } from '../output/context.ts';
import { formatBytes } from '../output/bytes.ts';

export class JobProgress {
  #shown = false;

  constructor(
    private readonly out: Output,
    private readonly enabled: boolean,
  ) {}

  update(job: JobDetails, checkpoints: CheckpointStatistics | undefined): void {
    if (!this.enabled) return;
    const latest = checkpoints?.latest.completed;
    const checkpoint = latest == null ? 'no checkpoint yet' : `checkpoint ${latest.id} (${formatBytes(latest.state_size)}, ${latest.end_to_end_duration} ms)`;
    const restarts = job['num-restarts'] > 0 ? `, ${job['num-restarts']} restart(s)` : '';
    // Sources are the vertices that read nothing from a channel.
    const emitted = job.vertices.filter((v) => v.metrics['read-records'] === 0).reduce((sum, v) => sum + v.metrics['write-records'], 0);
    this.out.write(`\r\x1b[2K${job.state}: ${emitted} records from sources, ${checkpoint}${restarts}`);
    this.#shown = true;
  }

  clear(): void {
    if (this.#shown) this.out.write('\r\x1b[2K');
    this.#shown = false;
  }
}
