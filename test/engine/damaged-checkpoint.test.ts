/**
 * The in-process restart path (a task failure inside a running job, no JobManager involved)
 * checks the checkpoint it restores from as the cluster does: a damaged newest checkpoint is
 * reported and skipped for the one before it; with every retained one damaged the job fails
 * instead of starting empty. And ids go on from a restored snapshot's.
 */
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { checkpointsOnDisk, flipByte, largestDataFile } from '../../scripts/chaos/damage-checkpoint.ts';
import type { CheckpointListener, MapFunction } from '../../src/engine/api/functions.ts';
import type { DamagedCheckpoint } from '../../src/engine/checkpoint/choose-restore-checkpoint.ts';
import type { SnapshotStats } from '../../src/engine/checkpoint/checkpoint-coordinator.ts';
import { startLocally } from '../../src/engine/runtime/local-executor.ts';
import { DataGeneratorSource, type KeyedProcessFunction, PrintSink, StreamExecutionEnvironment, type ValueState, valueState } from '../../src/index.ts';
import { tempDir } from '../support/temp-dir.ts';

class Count implements KeyedProcessFunction<string, string, string> {
  private count!: ValueState<number>;
  open(ctx: Parameters<NonNullable<KeyedProcessFunction<string, string, string>['open']>>[0]): void {
    this.count = ctx.getState(valueState<number>('count'));
  }
  processElement(key: string, _ctx: unknown, out: { collect(v: string): void }): void {
    const n = (this.count.value() ?? 0) + 1;
    this.count.update(n);
    out.collect(`${key}:${n}`);
  }
}

/**
 * Fails once, in attempt 0, when the `checkpoints`th checkpoint completes, damaging the newest
 * `damage` of them first; `injected` tells the source it may end.
 */
function damagingFailure(jobDir: () => string, checkpoints: number, damage: number, injected: () => void): MapFunction<string, string> & CheckpointListener {
  const fn: MapFunction<string, string> & CheckpointListener & { attempt: number; completed: number } = {
    attempt: 0,
    completed: 0,
    open(ctx) {
      this.attempt = ctx.attemptNumber;
    },
    notifyCheckpointComplete() {
      this.completed += 1;
      if (this.attempt === 0 && this.completed === checkpoints) {
        for (const c of checkpointsOnDisk(jobDir()).slice(0, damage)) flipByte(largestDataFile(c.dir));
        injected();
        throw new Error('injected after damaging checkpoints');
      }
    },
    map(value) {
      return value;
    },
  };
  return fn;
}

async function runJob(damage: number): Promise<{ status: string; error?: string; damaged: DamagedCheckpoint[]; fallbacks: (number | undefined)[]; lines: string[] }> {
  const dir = await tempDir();
  try {
    const env = StreamExecutionEnvironment.getExecutionEnvironment()
      .setParallelism(1)
      .configureCheckpointing({ interval: 20, dir: dir.path, numRetained: 3 })
      .setRestartStrategy({ type: 'fixed-delay', attempts: 2, delayMs: 0 });
    let jobId = '';
    const lines: string[] = [];
    let failed = false;
    env
      // Held open until the failure is injected, however few checkpoints the input would last.
      .fromSource(new DataGeneratorSource({ count: 30_000, seed: 5, recordsPerSecond: 20_000, generate: (i) => `k${i % 500}`, endWhen: () => failed }), 'keys')
      .uid('keys')
      .map(damagingFailure(() => join(dir.path, jobId), 3, damage, () => (failed = true)))
      .uid('fail')
      .keyBy((k) => k)
      .process(() => new Count())
      .uid('count')
      .sinkTo(new PrintSink<string>({ out: { write: (l: string) => lines.push(l.trim()) } }));
    const damaged: DamagedCheckpoint[] = [];
    const fallbacks: (number | undefined)[] = [];
    const client = startLocally(env.graph, { ...env.executionOptions('damaged'), events: { onDamaged: (d, f) => (damaged.push(d), fallbacks.push(f)) } });
    jobId = client.jobId;
    try {
      await client.result;
      return { status: client.status(), damaged, fallbacks, lines };
    } catch (err) {
      return { status: client.status(), error: (err as Error).message, damaged, fallbacks, lines };
    }
  } finally {
    await dir.remove();
  }
}

describe('a restart inside a running job', () => {
  it('skips a damaged newest checkpoint for the one before it, naming the file', async () => {
    const { status, damaged, fallbacks, lines } = await runJob(1);
    expect(status).toBe('FINISHED');
    expect(damaged).toHaveLength(1);
    expect(damaged[0]!.problem).toMatch(/\.tsfs at offset \d+: /);
    expect(fallbacks[0]).toBeLessThan(damaged[0]!.checkpoint.id);
    // At-least-once print sink: every key reaches its final count, state restored from the fallback.
    const last = new Map<string, number>();
    for (const line of lines) {
      const [key, n] = line.split(':');
      last.set(key!, Math.max(last.get(key!) ?? 0, Number(n)));
    }
    expect([...last.values()].every((n) => n === 60)).toBe(true);
  }, 60_000);

  it('fails the job, naming every damaged checkpoint, when none is intact', async () => {
    const { status, error, damaged } = await runJob(3);
    expect(status).toBe('FAILED');
    expect(damaged).toEqual([]);
    expect(error).toMatch(/^Cannot restore: every retained checkpoint is damaged: checkpoint \d+ \(.*\); checkpoint \d+ \(.*\); checkpoint \d+ \(/);
  }, 60_000);
});

it('checkpoint ids go on from the restored snapshot', async () => {
  const dir = await tempDir();
  try {
    // The first run is held open until it has been savepointed and cancelled; the restored one ends.
    let holding = true;
    const build = (): StreamExecutionEnvironment => {
      const env = StreamExecutionEnvironment.getExecutionEnvironment().setParallelism(1).configureCheckpointing({ interval: 20, dir: join(dir.path, 'chk') });
      env
        .fromSource(new DataGeneratorSource({ count: 20_000, seed: 1, recordsPerSecond: 20_000, generate: (i) => `k${i % 50}`, endWhen: () => !holding }), 'keys')
        .uid('keys')
        .keyBy((k) => k)
        .process(() => new Count())
        .uid('count')
        .sinkTo(new PrintSink<string>({ out: { write: () => true } }));
      return env;
    };
    const first: SnapshotStats[] = [];
    const env = build();
    const client = startLocally(env.graph, { ...env.executionOptions('ids'), events: { onCompleted: (s) => first.push(s) } });
    while (first.length < 4) await new Promise((r) => setTimeout(r, 20));
    const savepoint = await client.triggerSavepoint(join(dir.path, 'sp'));
    await client.cancel();
    holding = false;
    const restored = build().restoreFrom(savepoint);
    const second: SnapshotStats[] = [];
    await startLocally(restored.graph, { ...restored.executionOptions('ids'), events: { onCompleted: (s) => second.push(s) } }).result;
    const savepointId = Math.max(...first.map((s) => s.id));
    expect(second.length).toBeGreaterThan(0);
    expect(second[0]!.id).toBeGreaterThan(savepointId);
  } finally {
    await dir.remove();
  }
}, 60_000);
