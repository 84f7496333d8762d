/**
 * What a job's sources allow, checked when the job starts, once its parallelism and checkpointing
 * are final (flags and configuration included): a source that cannot rewind refuses exactly-once
 * checkpointing, and a non-parallel one a parallelism above 1 (Flink: "The parallelism of non
 * parallel operator must be 1."). Both refusals are one line saying what to do, exit 1 as other
 * refusals of `flink run`.
 */
import { UserError } from '../../errors.ts';
import type { Source } from '../api/source.ts';
import type { CheckpointConfig } from '../checkpoint/checkpoint-config.ts';
import type { JobPlan } from './job-plan.ts';

export function checkSources(plan: JobPlan, checkpoint: Pick<CheckpointConfig, 'interval' | 'mode'>): void {
  for (const p of plan.nodes) {
    const source = p.node.source as Source<unknown> | undefined;
    if (source === undefined) continue;
    const what = source.description === undefined ? `source '${p.name}'` : `source '${p.name}' (${source.description})`;
    if (source.nonParallel === true && p.parallelism !== 1) {
      throw new UserError(`${what} is not parallel: its parallelism must be 1, not ${p.parallelism}; leave its setParallelism out (operators after it may run at any parallelism)`, 1);
    }
    if (source.replayable === false && checkpoint.interval !== null && checkpoint.mode === 'EXACTLY_ONCE') {
      throw new UserError(
        `${what} cannot be replayed from a checkpoint, so exactly-once checkpointing cannot hold for it: set execution.checkpointing.mode: AT_LEAST_ONCE explicitly (or enableCheckpointing(interval, 'AT_LEAST_ONCE')), accepting that a failure loses what it read since the last checkpoint, or turn checkpointing off`,
        1,
      );
    }
  }
}
