/**
 * Watching a real local cluster from outside, through its REST API and its files, as a person
 * or a script would: used by the cluster tests and by the chaos suite (scripts/chaos.ts).
 */
import { readFile, readdir } from 'node:fs/promises';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';

export interface JobInfo {
  state: string;
  'num-restarts': number;
  'failure-cause'?: string;
}

export interface CheckpointStats {
  counts: { completed: number };
  latest: { completed: { id: number } | null; restored: { id: number; is_savepoint: boolean; external_path: string } | null };
}

const ENDED = ['FINISHED', 'FAILED', 'CANCELED'];

export class ClusterProbe {
  constructor(readonly url: string) {}

  /** GET on the REST API; undefined while the JobManager does not answer (it is being restarted). */
  async get<T>(path: string): Promise<T | undefined> {
    try {
      const response = await fetch(`${this.url}${path}`, { signal: AbortSignal.timeout(5_000) });
      if (!response.ok) return undefined;
      return (await response.json()) as T;
    } catch {
      return undefined;
    }
  }

  async waitForState(jobId: string, states: readonly string[], timeoutMs = 75_000): Promise<JobInfo> {
    return waitFor(
      `job ${jobId} to be ${states.join(' or ')}`,
      async () => {
        const job = await this.get<JobInfo>(`/jobs/${jobId}`);
        if (job === undefined || states.includes(job.state)) return job;
        if (ENDED.includes(job.state)) throw new Error(`job ${jobId} ended ${job.state} (${job['failure-cause'] ?? 'no failure cause'}), not ${states.join(' or ')}`);
        return undefined;
      },
      timeoutMs,
    );
  }

  /**
   * Waits until at least `count` checkpoints completed and, if `committingTo` is given, some
   * output is committed there. Returns the id of the latest completed checkpoint.
   */
  async waitForCheckpoints(jobId: string, count: number, committingTo?: string, timeoutMs = 60_000): Promise<number> {
    return waitFor(
      `${count} completed checkpoints of job ${jobId}${committingTo === undefined ? '' : ' and committed output'}`,
      async () => {
        const stats = await this.get<CheckpointStats>(`/jobs/${jobId}/checkpoints`);
        if (stats !== undefined && stats.counts.completed >= count && (committingTo === undefined || (await committedLines(committingTo)).length > 0)) {
          return stats.latest.completed?.id ?? 0;
        }
        const job = await this.get<JobInfo>(`/jobs/${jobId}`);
        if (job !== undefined && ENDED.includes(job.state)) throw new Error(`job ${jobId} ended (${job.state}) before it got that far`);
        return undefined;
      },
      timeoutMs,
    );
  }

  /**
   * For examples/order-totals.ts: waits until its dedup has read all `orders` and its window chain
   * all that dedup wrote, then for a checkpoint triggered after that, whose state is the input's
   * end state: a snapshot taken next changes nothing.
   */
  async waitForCheckpointAfterAllOrders(jobId: string, orders: number, timeoutMs = 120_000): Promise<void> {
    type Job = { vertices: { name: string; metrics: { 'read-records': number; 'write-records': number } }[] };
    await waitFor(
      `job ${jobId} to count all ${orders} orders`,
      async () => {
        const metrics = new Map(((await this.get<Job>(`/jobs/${jobId}`))?.vertices ?? []).map((v) => [v.name, v.metrics]));
        const [dedup, window] = [metrics.get('Keyed Process'), metrics.get('Window(TumblingEventTimeWindows(600000), aggregate) -> Sink: Sink')];
        return dedup?.['read-records'] === orders && window?.['read-records'] === dedup['write-records'];
      },
      timeoutMs,
    );
    type History = { history: { id: number }[]; latest: { completed: { id: number } | null } };
    const newest = (await this.get<History>(`/jobs/${jobId}/checkpoints`))?.history[0]?.id ?? 0;
    await waitFor(`a checkpoint of job ${jobId} after ${newest}`, async () => ((await this.get<History>(`/jobs/${jobId}/checkpoints`))?.latest.completed?.id ?? 0) > newest, timeoutMs);
  }
}

export async function waitFor<T>(what: string, probe: () => Promise<T | undefined | false>, timeoutMs = 60_000, everyMs = 100): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await probe();
    if (value !== undefined && value !== false) return value;
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await sleep(everyMs);
  }
}

export function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

/** What a reader of the output directory sees: the lines of the committed part files, sorted. */
export async function committedLines(out: string): Promise<string[]> {
  const names = (await readdir(out).catch(() => [])).filter((n) => n.startsWith('part-'));
  const texts = await Promise.all(names.map((n) => readFile(join(out, n), 'utf8')));
  return texts.flatMap((t) => t.split('\n').filter((line) => line !== '')).sort();
}

export interface OutputComparison {
  readonly lines: number;
  /** Expected lines that are missing. */
  readonly lost: number;
  /** Extra copies of expected lines. */
  readonly duplicated: number;
  /** Lines that a failure-free run does not produce at all. */
  readonly mismatched: number;
  readonly examples: { readonly lost: string[]; readonly duplicated: string[]; readonly mismatched: string[] };
}

/** Compares committed lines with a failure-free run's, as multisets. */
export function compareOutput(got: readonly string[], want: readonly string[]): OutputComparison {
  const wanted = new Map<string, number>();
  for (const line of want) wanted.set(line, (wanted.get(line) ?? 0) + 1);
  const seen = new Map<string, number>();
  for (const line of got) seen.set(line, (seen.get(line) ?? 0) + 1);
  const lost: string[] = [];
  const duplicated: string[] = [];
  const mismatched: string[] = [];
  let lostCount = 0;
  let duplicatedCount = 0;
  let mismatchedCount = 0;
  for (const [line, n] of wanted) {
    const have = seen.get(line) ?? 0;
    if (have < n) {
      lostCount += n - have;
      lost.push(line);
    } else if (have > n) {
      duplicatedCount += have - n;
      duplicated.push(line);
    }
  }
  for (const [line, n] of seen) {
    if (!wanted.has(line)) {
      mismatchedCount += n;
      mismatched.push(line);
    }
  }
  return { lines: got.length, lost: lostCount, duplicated: duplicatedCount, mismatched: mismatchedCount, examples: { lost: lost.slice(0, 5), duplicated: duplicated.slice(0, 5), mismatched: mismatched.slice(0, 5) } };
}
