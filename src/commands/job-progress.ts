/**
 * The live line `flink run` shows on a terminal while an attached job runs: state, the latest
 * checkpoint's id, size and duration, and restarts. Off a terminal it prints nothing, so scripts
 * and logs get only the final lines. (Workers do not report record counts yet, so there are no
 * records-per-second figures.)
 */
import type { CheckpointStatistics, JobDetails } from '../engine/cluster/cluster-api.ts';
import type { Output } from '../output/context.ts';
import { formatBytes } from '../output/style.ts';

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
    this.out.write(`\r\x1b[2K${job.state}: ${checkpoint}${restarts}`);
    this.#shown = true;
  }

  clear(): void {
    if (this.#shown) this.out.write('\r\x1b[2K');
    this.#shown = false;
  }
}
