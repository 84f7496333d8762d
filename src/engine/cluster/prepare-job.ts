/**
 * Builds a submitted job from its module: loads it, configures an environment from the
 * cluster's settings, lets the job declare its pipeline, compiles the plan and, with `-s`,
 * matches the snapshot to it. `flink run` does this before submitting, so a job that cannot
 * start is reported at once and nothing is submitted; the JobMaster thread does it again to run the job.
 */
import { UserError } from '../../errors.ts';
import { checkFiles } from '../../format/check-files.ts';
import { operatorIdFromUid, toHex } from '../../format/murmur3.ts';
import type { OpenStoreOptions } from '../../storage/open-store.ts';
import { StreamExecutionEnvironment } from '../api/environment.ts';
import type { StreamGraph } from '../api/stream-graph.ts';
import type { CheckpointConfig } from '../checkpoint/checkpoint-config.ts';
import { describeLoadError, loadJob } from '../job-loader.ts';
import { type Chain, type JobPlan, type PlannedNode, planJob } from '../runtime/job-plan.ts';
import { chainName } from '../runtime/vertex-names.ts';
import { type ExecutionOptions, type OpenedRestore, openRestore } from '../runtime/local-executor.ts';
import type { RestartStrategy } from '../runtime/restart-strategy.ts';
import type { StateBackendOptions, StateBackendType } from '../state/state-backend-type.ts';
import { defaultJobName } from './job-settings.ts';
import { shipStrategy } from './execution-plan.ts';
import type { JobVertexInfo } from './jobmaster-protocol.ts';

/** What the configuration says, before the job's own code changes any of it (code wins, as in Flink). */
export interface JobSettings {
  readonly jobName?: string;
  readonly parallelism: number;
  readonly maxParallelism?: number;
  readonly checkpoint: CheckpointConfig;
  readonly restartStrategy?: RestartStrategy;
  /** `state.backend.type`; the job's `env.setStateBackend` overrides it. */
  readonly stateBackend?: StateBackendType;
  readonly storeOptions?: OpenStoreOptions;
  /** `state.backend.rocksdb.localdir`, `state.backend.lmdb.localdir`, `state.backend.embedded.cache-size`. */
  readonly stateBackendOptions?: StateBackendOptions;
}

export interface PreparedJob {
  readonly jobName: string;
  readonly graph: StreamGraph;
  readonly options: ExecutionOptions;
  readonly plan: JobPlan;
  readonly vertices: readonly JobVertexInfo[];
}

export interface RestoreRequest {
  readonly path: string;
  readonly allowNonRestoredState: boolean;
}

/** `loadFrom`: the job's code when it is not the job file itself (the bundle the cluster stored). */
export async function prepareJob(jobFile: string, args: readonly string[], settings: JobSettings, restore?: RestoreRequest, loadFrom?: string): Promise<PreparedJob> {
  // Cluster commands fail with exit 1, as Flink's; the loader's own codes serve the library.
  const main = await loadJob(jobFile, loadFrom).catch((err: unknown) => {
    throw err instanceof UserError && err.exitCode !== 1 ? new UserError(err.message, 1, { cause: err }) : err;
  });
  const env = new StreamExecutionEnvironment().setParallelism(settings.parallelism).configureCheckpointing(settings.checkpoint);
  if (settings.maxParallelism !== undefined) env.setMaxParallelism(settings.maxParallelism);
  if (settings.restartStrategy !== undefined) env.setRestartStrategy(settings.restartStrategy);
  if (settings.stateBackend !== undefined) env.setStateBackend(settings.stateBackend);
  try {
    await main(env, [...args]);
  } catch (err) {
    if (err instanceof UserError) throw new UserError(`Job file ${jobFile}: ${err.message}`, 1, { cause: err });
    throw new UserError(`Job file ${jobFile} threw while building the job: ${describeLoadError(err, jobFile)}`, 1, { cause: err });
  }
  if (env.graph.nodes.length === 0) throw new UserError(`Job file ${jobFile} declares no operators: its default export must build the pipeline on the environment it is given.`, 1);
  const jobName = settings.jobName ?? defaultJobName(jobFile);
  const base = env.executionOptions(jobName);
  const options: ExecutionOptions = {
    ...base,
    ...(settings.storeOptions === undefined ? {} : { storeOptions: settings.storeOptions }),
    ...(settings.stateBackendOptions === undefined ? {} : { stateBackendOptions: settings.stateBackendOptions }),
    ...(restore === undefined ? {} : { restoreFrom: restore.path, allowNonRestoredState: restore.allowNonRestoredState }),
  };
  const plan = planJob(env.graph, { parallelism: options.parallelism, ...(options.maxParallelism === undefined ? {} : { maxParallelism: options.maxParallelism }) });
  const nodes = restore === undefined ? plan.nodes : (await openRestoreForUser(plan, restore.path, options)).nodes;
  return { jobName, graph: env.graph, options, plan, vertices: jobVertices(plan, nodes) };
}

/** Flink's job vertices: one per chain, named for its operators, with the max parallelism a restore fixed. */
export function jobVertices(plan: JobPlan, nodes: readonly PlannedNode[]): JobVertexInfo[] {
  const maxParallelism = new Map(nodes.map((n) => [n.uid, n.maxParallelism]));
  const idOf = (chain: Chain): string => toHex(operatorIdFromUid(chain.nodes[0]!.uid));
  return plan.chains.map((chain) => ({
    id: idOf(chain),
    uid: chain.nodes[0]!.uid,
    name: chainName(chain.nodes),
    parallelism: chain.parallelism,
    maxParallelism: Math.max(...chain.nodes.map((n) => maxParallelism.get(n.uid) ?? n.maxParallelism)),
    tailUid: chain.nodes.at(-1)!.uid,
    inputs: plan.edges.filter((e) => e.to === chain.id).map((e) => ({ id: idOf(plan.chains[e.from]!), shipStrategy: shipStrategy(e.partitioning) })),
  }));
}

/** Restore problems that are not already worded for `flink run -s` (a missing or unreadable path, a damaged file). */
export async function openRestoreForUser(plan: JobPlan, path: string, options: ExecutionOptions): Promise<Awaited<ReturnType<typeof openRestore>>> {
  let opened: Awaited<ReturnType<typeof openRestore>>;
  try {
    opened = await openRestore(plan, path, options);
  } catch (err) {
    if (err instanceof UserError && err.exitCode === 1) throw err;
    const message = err instanceof Error ? err.message : String(err);
    throw new UserError(`Cannot restore the job from ${path}: ${message}. Give -s the directory of a savepoint or retained checkpoint (or its _metadata).`, 1, { cause: err });
  }
  await refuseMissingFiles(path, opened.restore.reader);
  return opened;
}

/**
 * A file `_metadata` refers to that is missing or of another size (one stat each, no bytes read)
 * would fail the job once submitted, with a bare "no such file": said here, before anything runs.
 * The usual cause is an incremental checkpoint copied away from its checkpoint root, whose
 * `<jobId>/shared/` files it reads from two directories above it.
 */
async function refuseMissingFiles(path: string, reader: OpenedRestore['restore']['reader']): Promise<void> {
  // A store that cannot be asked (credentials, network) is reported by the restore itself, as before.
  const problems = await checkFiles(reader).catch(() => []);
  const first = problems[0];
  if (first === undefined) return;
  const what = first.problem === 'missing' ? `is missing (_metadata refers to it${first.shared ? ' as a shared file' : ''})` : `is ${first.size ?? 0} bytes, _metadata says ${first.recordedSize}`;
  const more = problems.length > 1 ? `, and ${problems.length - 1} more file(s)` : '';
  const advice = first.shared
    ? `an incremental checkpoint reads its shared files from <checkpoint root>/${reader.metadata.jobId}/shared/, two directories above it: restore it where it was written, or from a savepoint`
    : `'flink verify ${reader.store.location}' lists every problem`;
  throw new UserError(`Cannot restore the job from ${path}: ${first.file} ${what}${more}; ${advice}.`, 1);
}
