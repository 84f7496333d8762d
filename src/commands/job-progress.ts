/**
 * The live line `flink run` shows on a terminal while an attached job runs: state, records per
 * second, and the latest checkpoint's id, size and duration. Off a terminal it prints nothing,
 * so scripts and logs get only the final lines.
 */
import type { CheckpointStatistics, JobDetails } from '../engine/cluster/cluster-api.ts';
import type { Output } from '../output/context.ts';

export class JobProgress {
  #last: { at: number; read: number; written: number } | undefined;
  #shown = false;

  constructor(
    private readonly out: Output,
    private readonly enabled: boolean,
  ) {}

  update(job: JobDetails, checkpoints: CheckpointStatistics | undefined): void {
    if (!this.enabled) return;
    const read = job.vertices.reduce((sum, v) => sum + v.metrics['read-records'], 0);
    const written = job.vertices.reduce((sum, v) => sum + v.metrics['write-records'], 0);
    const now = Date.now();
    const previous = this.#last;
    this.#last = { at: now, read, written };
    const seconds = previous === undefined ? 0 : (now - previous.at) / 1000;
    const rate = (n: number, before: number | undefined): string => (seconds > 0 && before !== undefined ? `${Math.round((n - before) / seconds).toLocaleString('en-US')}/s` : '-');
    const latest = checkpoints?.latest.completed;
    const checkpoint = latest == null ? 'no checkpoint yet' : `checkpoint ${latest.id} (${formatBytes(latest.state_size)}, ${latest.end_to_end_duration} ms)`;
    const restarts = job['num-restarts'] > 0 ? `, ${job['num-restarts']} restart(s)` : '';
    // Record counts appear once workers report them (read-records / write-records are 0 until then).
    const records = read + written > 0 ? ` in ${rate(read, previous?.read)}, out ${rate(written, previous?.written)},` : '';
    this.out.write(`\r\x1b[2K${job.state}:${records} ${checkpoint}${restarts}`);
    this.#shown = true;
  }

  clear(): void {
    if (this.#shown) this.out.write('\r\x1b[2K');
    this.#shown = false;
  }
}

function formatBytes(n: number): string {
  if (n < 1024) return `${n} B`;
  if (n < 1024 * 1024) return `${(n / 1024).toFixed(1)} KiB`;
  return `${(n / 1024 / 1024).toFixed(1)} MiB`;
}
