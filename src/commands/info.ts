/**
 * `flink info <jobFile> [args...]`: builds the job here, runs nothing, and prints its execution
 * plan as Flink does (the JSON between two rules, then the program's description, which a job
 * module does not have). With --json, the plan alone.
 */
import { resolve } from 'node:path';
import type { CommandEnv, CommonOptions } from '../cli.ts';
import { executionPlan } from '../engine/cluster/execution-plan.ts';
import { jobSettingsFromConfig } from '../engine/cluster/job-settings.ts';
import { nonEmptyPath } from '../engine/cluster/locations.ts';
import { prepareJob } from '../engine/cluster/prepare-job.ts';

export interface InfoOptions extends CommonOptions {
  readonly parallelism?: number;
}

export async function runInfo(jobFile: string, args: readonly string[], options: InfoOptions, env: CommandEnv): Promise<number> {
  const { ctx, config } = env;
  const file = resolve(ctx.cwd ?? process.cwd(), nonEmptyPath(jobFile, 'jobFile'));
  const prepared = await prepareJob(file, args, jobSettingsFromConfig(config, options.parallelism));
  const plan = executionPlan(prepared.plan);
  if (options.json === true) {
    ctx.stdout.write(`${JSON.stringify(plan)}\n`);
    return 0;
  }
  ctx.stdout.write('----------------------- Execution Plan -----------------------\n');
  ctx.stdout.write(`${JSON.stringify(plan, null, 2)}\n`);
  ctx.stdout.write('--------------------------------------------------------------\n');
  ctx.stdout.write('\nNo description provided.\n');
  return 0;
}
