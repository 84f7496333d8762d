/**
 * The chaos suite's `partition` kind: a TaskManager holding the job's slots is cut off without
 * dying. SIGSTOP freezes the whole process (its heartbeats to the JobManager, its links to the
 * JobMaster and to other TaskManagers, and its slot threads), as a network partition or a long GC
 * pause would; once the JobManager has failed the attempt and the job runs again without it,
 * SIGCONT brings it back as a zombie of a failed attempt, which must end its subtasks and commit
 * nothing more (the tally proves the second part: no duplicated or mismatched line).
 *
 * A frozen process outlives the script if nothing resumes it, so every pid stays in a set until
 * it is resumed, and `resumeAll` runs on every way out (the script's clean-up, which SIGINT and
 * SIGTERM run too, and its exit).
 */
import { readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { alive, waitFor } from '../../test/support/cluster-probes.ts';

const frozen = new Set<number>();

export function freeze(pid: number): void {
  frozen.add(pid);
  process.kill(pid, 'SIGSTOP');
}

export function resume(pid: number): void {
  frozen.delete(pid);
  try {
    process.kill(pid, 'SIGCONT');
  } catch {
    // gone already (the cluster stopped and killed it)
  }
}

export function resumeAll(): void {
  for (const pid of [...frozen]) resume(pid);
}

let guarded = false;
/** Resumes frozen TaskManagers however the process exits (the script handles SIGINT and SIGTERM itself). */
export function resumeOnExit(): void {
  if (guarded) return;
  guarded = true;
  process.on('exit', resumeAll);
}

export interface PartitionOutcome {
  /** Restarts the JobManager counted while the TaskManager was frozen. */
  readonly restarts: number;
  /** How long it stayed frozen. */
  readonly frozenMs: number;
  /** What the resumed TaskManager logged about ending its slots; undefined if it said nothing within the wait. */
  readonly ended: string | undefined;
}

/**
 * Freezes `victim` until the job runs again in a later attempt (num-restarts grew, RUNNING) with
 * its slots on other TaskManagers (the other one, or a replacement the JobManager started), then
 * resumes it and waits for it to say it ended the failed attempt's slots (its log).
 */
export async function partition(
  victim: number,
  options: {
    readonly workDir: string;
    readonly restarts: () => Promise<{ state: string; restarts: number } | undefined>;
    /** Pids of the TaskManagers holding the job's slots now. */
    readonly busy: () => Promise<number[]>;
    readonly timeoutMs: number;
  },
): Promise<PartitionOutcome | undefined> {
  const before = (await options.restarts())?.restarts ?? 0;
  const log = taskManagerLog(options.workDir, victim);
  const mark = log === undefined ? 0 : sizeOf(log);
  const frozenAt = performance.now();
  freeze(victim);
  let again: { state: string; restarts: number } | undefined;
  try {
    again = await waitFor(
      'the job to fail over from the frozen TaskManager and run again',
      async () => {
        const job = await options.restarts();
        if (job === undefined) return undefined;
        if (['FINISHED', 'FAILED', 'CANCELED'].includes(job.state)) return job;
        if (job.state !== 'RUNNING' || job.restarts <= before) return undefined;
        // RUNNING comes back with the restart, before the new attempt has its slots: resumed
        // then, the TaskManager would register again and might get them itself, testing nothing.
        const busy = await options.busy();
        return busy.length > 0 && !busy.includes(victim) ? job : undefined;
      },
      options.timeoutMs,
      50,
    );
  } finally {
    resume(victim);
  }
  const frozenMs = Math.round(performance.now() - frozenAt);
  if (again.state !== 'RUNNING') return undefined;
  const ended =
    log === undefined || !alive(victim)
      ? undefined
      : await waitFor(
          'the resumed TaskManager to end its slots',
          async () => /^.*ending its \d+ slot.*$/m.exec(readFileSync(log).subarray(mark).toString('utf8'))?.[0],
          30_000,
          100,
        ).catch(() => undefined);
  return { restarts: again.restarts - before, frozenMs, ended };
}

/** `log/taskmanager-<n>.log` of the local TaskManager with this pid (the JobManager's log names it). */
function taskManagerLog(workDir: string, pid: number): string | undefined {
  try {
    const jobManagerLog = readFileSync(join(workDir, 'log', 'jobmanager.log'), 'utf8');
    const n = [...jobManagerLog.matchAll(/started TaskManager (\d+) \(pid (\d+)\)/g)].find((m) => Number(m[2]) === pid)?.[1];
    return n === undefined ? undefined : join(workDir, 'log', `taskmanager-${n}.log`);
  } catch {
    return undefined;
  }
}

function sizeOf(path: string): number {
  try {
    return statSync(path).size;
  } catch {
    return 0;
  }
}
