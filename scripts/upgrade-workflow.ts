/**
 * The upgrade workflow a Flink user knows, through the real `flink` binary: run the order-totals
 * job detached at parallelism 2, wait for two checkpoints, take a savepoint, cancel, restore the
 * upgraded job (one operator removed, one added) from it at parallelism 3 with -n, list, inspect
 * the savepoint, diff it against a later checkpoint, checkpoint until the output holds committed
 * totals, stop with a savepoint and shut the cluster down. `npm run demo` shows it; the end-to-end
 * test runs it and checks the output.
 *
 * Both jobs run with `--hold-until <dir>/end-of-input`: after their last order their input stays
 * open, so each is still running when the savepoint, cancel and stop arrive, however loaded the
 * machine is. Cancel and stop end them, so nothing ever creates that file. Both jobs take their
 * checkpoints on demand (`-D execution.checkpointing.interval=0`, then `flink checkpoint`): in the
 * first, a periodic checkpoint completing between the savepoint and the cancel would commit
 * totals that the upgraded job, restored from the savepoint, emits again (a savepoint and a
 * cancel are two steps, which is why Flink replaced cancel-with-savepoint by stop); in the
 * second, one would subsume and delete the compared checkpoint while `flink diff` reads it,
 * whenever the machine is slow enough.
 */
import { mkdirSync, readFileSync, readdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';

export interface FlinkRun {
  readonly code: number;
  readonly stdout: string;
}

export interface WorkflowOptions {
  /** Working directory of the run: config, savepoints, output, the cluster's files. */
  readonly dir: string;
  readonly port: number;
  readonly records: number;
  /** Spreads the input over several checkpoints (the jobs are held open whatever the rate). */
  readonly rate: number;
  readonly seed: number;
  /** Runs `flink <args>` with FLINK_CONF_DIR=<dir>/conf in `dir`; returns exit code and stdout. */
  readonly flink: (args: readonly string[]) => Promise<FlinkRun>;
  /** Tells what happens next. */
  readonly say: (text: string) => void;
}

export interface WorkflowResult {
  readonly firstJob: string;
  readonly secondJob: string;
  readonly savepoint: string;
  readonly stopSavepoint: string;
  readonly output: string;
}

const ROOT = join(import.meta.dirname, '..');
/** Generous: at the demo's rate the first window closes within seconds, at the test's within about ten. */
const COMMIT_TIMEOUT_MS = 120_000;

/** The cluster's configuration, as a user would write it. */
export function writeConfig(dir: string, port: number): void {
  mkdirSync(join(dir, 'conf'), { recursive: true });
  writeFileSync(
    join(dir, 'conf', 'config.yaml'),
    [
      'rest:',
      `  port: ${port}`,
      'process:',
      `  jobmanager.working-dir: ${join(dir, 'cluster')}`,
      'execution:',
      '  checkpointing:',
      '    interval: 1s',
      '    num-retained: 3',
      `    dir: ${join(dir, 'checkpoints')}`,
      `    savepoint-dir: ${join(dir, 'savepoints')}`,
      '',
    ].join('\n'),
  );
}

export async function runUpgradeWorkflow(o: WorkflowOptions): Promise<WorkflowResult> {
  const output = join(o.dir, 'totals');
  const jobArgs = ['--output', output, '--records', String(o.records), '--rate', String(o.rate), '--seed', String(o.seed), '--hold-until', join(o.dir, 'end-of-input')];
  const must = async (args: readonly string[], codes: readonly number[] = [0]): Promise<string> => {
    const r = await o.flink(args);
    if (!codes.includes(r.code)) throw new Error(`flink ${args.join(' ')} exited with ${r.code}`);
    return r.stdout;
  };
  const rest = async <T>(path: string): Promise<T> => (await (await fetch(`http://127.0.0.1:${o.port}${path}`)).json()) as T;

  o.say('Run the order-totals job detached at parallelism 2 (a local cluster starts on demand). It checkpoints on demand only (interval 0).');
  const firstJob = jobIdOf(await must(['run', '-d', '-p', '2', '-D', 'execution.checkpointing.interval=0', join(ROOT, 'examples/order-totals.ts'), ...jobArgs]));
  o.say('Take two checkpoints once it runs: each commits the totals of the windows closed so far.');
  await waitFor(async () => (await rest<{ state: string }>(`/jobs/${firstJob}`)).state === 'RUNNING', 60_000, 'the job to run');
  await must(['checkpoint', firstJob]);
  await must(['checkpoint', firstJob]);

  o.say('Take a savepoint (into execution.checkpointing.savepoint-dir from conf/config.yaml), then cancel the job.');
  const savepoint = pathOf(await must(['savepoint', firstJob]));
  await must(['cancel', firstJob]);

  o.say('Restore the upgraded job from the savepoint at parallelism 3; -n drops the state of the removed operator. It checkpoints on demand only (interval 0).');
  const secondJob = jobIdOf(await must(['run', '-d', '-p', '3', '-D', 'execution.checkpointing.interval=0', '-s', savepoint, '-n', join(ROOT, 'examples/order-totals-v2.ts'), ...jobArgs]));
  await must(['list']);

  o.say('What the savepoint holds (read from its _metadata, no job code needed):');
  await must(['inspect', savepoint]);

  o.say('Take a checkpoint of the upgraded job once it runs (its third slot is on a TaskManager the JobManager starts for it), then compare it with the savepoint (no periodic checkpoint subsumes it meanwhile).');
  await waitFor(async () => (await rest<{ state: string }>(`/jobs/${secondJob}`)).state === 'RUNNING', 60_000, 'the upgraded job to run');
  await must(['checkpoint', secondJob]);
  let checkpoint: string | undefined;
  await waitFor(async () => {
    const stats = await rest<{ latest: { completed: { external_path?: string } | null } }>(`/jobs/${secondJob}/checkpoints`);
    checkpoint = stats.latest.completed?.external_path;
    return checkpoint !== undefined;
  }, 60_000, 'a checkpoint of the upgraded job');
  await must(['diff', savepoint, checkpoint!.replace(/^file:/, '')], [0, 1]);

  // By now usually no window has closed (the first needs the watermark past 70 minutes of event
  // time, some 42,000 orders), so the output holds nothing yet: checkpoint until it does, judged
  // by what the output holds rather than by a wait that a slow machine would outlast.
  o.say("Take checkpoints of the upgraded job until one commits totals: a window closes once the watermark (an hour behind the orders' event time) passes its end.");
  await waitFor(async () => {
    if (committedLines(output).length > 0) return true;
    await must(['checkpoint', secondJob]);
    // A checkpoint commits once it completes, just after `flink checkpoint` returns: the next round sees it.
    return false;
  }, COMMIT_TIMEOUT_MS, `committed totals in ${output} (checkpoints of the upgraded job committed none within ${COMMIT_TIMEOUT_MS / 1000} s)`, 1_000);

  o.say('Stop the upgraded job with a savepoint.');
  const stopSavepoint = pathOf(await must(['stop', '--savepointPath', join(o.dir, 'savepoints'), secondJob]));
  return { firstJob, secondJob, savepoint, stopSavepoint, output };
}

/** The lines committed to the exactly-once output so far, sorted. */
export function committedLines(output: string): string[] {
  const names = readdirSync(output).filter((n) => n.startsWith('part-'));
  return names.flatMap((n) => readFileSync(join(output, n), 'utf8').split('\n').filter((l) => l !== '')).sort();
}

function jobIdOf(stdout: string): string {
  const id = /JobID ([0-9a-f]{32})/.exec(stdout)?.[1];
  if (id === undefined) throw new Error(`no job id in: ${stdout}`);
  return id;
}

function pathOf(stdout: string): string {
  const path = /Path: (\S+)/.exec(stdout)?.[1];
  if (path === undefined) throw new Error(`no savepoint path in: ${stdout}`);
  return path.replace(/^file:/, '');
}

async function waitFor(condition: () => Promise<boolean>, timeoutMs: number, what: string, pollMs = 200): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await condition().catch(() => false))) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await sleep(pollMs);
  }
}
