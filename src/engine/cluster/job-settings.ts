/**
 * A job's settings from the cluster's configuration and the run's flags: what `flink run`
 * checks with before it submits, and what the JobMaster thread starts the job with.
 */
import { basename, extname } from 'node:path';
import { type Config, defaultParallelism, maxParallelism, stateBackendOptions, stateBackendType, storeOptions } from '../../config.ts';
import { checkpointConfigFromKeys } from '../checkpoint/checkpoint-config.ts';
import { restartStrategyFromKeys } from '../runtime/restart-strategy.ts';
import type { JobSettings } from './prepare-job.ts';

export function jobSettingsFromConfig(config: Config, parallelism: number | undefined): JobSettings {
  const maxP = maxParallelism(config);
  const restart = restartStrategyFromKeys(config);
  const name = config.get('pipeline.name');
  return {
    parallelism: parallelism ?? defaultParallelism(config),
    checkpoint: checkpointConfigFromKeys(config),
    stateBackend: stateBackendType(config),
    stateBackendOptions: stateBackendOptions(config),
    storeOptions: storeOptions(config),
    ...(maxP === undefined ? {} : { maxParallelism: maxP }),
    ...(restart === undefined ? {} : { restartStrategy: restart }),
    ...(name === undefined ? {} : { jobName: name }),
  };
}

/** A job's name when `pipeline.name` does not give one: its file's name without extension. */
export function defaultJobName(jobFile: string): string {
  return basename(jobFile, extname(jobFile));
}
