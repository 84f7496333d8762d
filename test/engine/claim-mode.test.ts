/**
 * Claim mode in process (`env.restoreFrom(path, { claimMode })`), as Flink's RecoveryClaimMode:
 * with CLAIM the restored savepoint joins the job's retained checkpoints and is deleted once newer
 * checkpoints subsume it, or when the job ends as the retention setting says; with NO_CLAIM (the
 * default) it is never touched. The jobs are held open by unbounded sources and ended by the test;
 * checkpoints are taken on request, so nothing depends on the machine's speed.
 */
import { existsSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Collector, DataGeneratorSource, type KeyedProcessFunction, type RuntimeContext, StreamExecutionEnvironment, type ValueState, valueState } from '../../src/index.ts';
import type { CheckpointConfig } from '../../src/engine/checkpoint/checkpoint-config.ts';
import type { ClaimMode } from '../../src/engine/checkpoint/checkpoint-types.ts';
import { tempDir } from '../support/temp-dir.ts';

let dir: Awaited<ReturnType<typeof tempDir>>;

beforeAll(async () => {
  dir = await tempDir('tsflink-claim-');
});
afterAll(async () => {
  await dir.remove();
});

class Count implements KeyedProcessFunction<string, string, number> {
  private count!: ValueState<number>;
  open(ctx: RuntimeContext): void {
    this.count = ctx.getState(valueState<number>('count'));
  }
  processElement(_value: string, _ctx: unknown, out: Collector<number>): void {
    const n = (this.count.value() ?? 0) + 1;
    this.count.update(n);
    out.collect(n);
  }
}

function job(checkpoint: Partial<CheckpointConfig>, restore?: { path: string; claimMode?: ClaimMode }): StreamExecutionEnvironment {
  const env = StreamExecutionEnvironment.getExecutionEnvironment().configureCheckpointing({ dir: `${dir.path}/chk`, ...checkpoint });
  if (restore !== undefined) env.restoreFrom(restore.path, restore.claimMode === undefined ? {} : { claimMode: restore.claimMode });
  env
    .fromSource(new DataGeneratorSource({ recordsPerSecond: 2000, generate: (i) => `k${i % 10}` }), 'keys')
    .uid('keys')
    .keyBy((k) => k)
    .process(() => new Count())
    .uid('count');
  return env;
}

async function until(what: string, check: () => boolean): Promise<void> {
  const deadline = Date.now() + 60_000;
  while (!check()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting until ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

/** `request` once the job's first attempt has started (before that the coordinator says the job is not running). */
async function whenRunning<T>(request: () => Promise<T>): Promise<T> {
  const deadline = Date.now() + 60_000;
  for (;;) {
    try {
      return await request();
    } catch (err) {
      if (!(err instanceof Error && / is not running$/.test(err.message)) || Date.now() > deadline) throw err;
      await new Promise((r) => setTimeout(r, 20));
    }
  }
}

/** A savepoint of a fresh run of the job, which is then cancelled. */
async function savepoint(): Promise<string> {
  const client = job({}).executeAsync('original');
  const location = await whenRunning(() => client.triggerSavepoint(`${dir.path}/savepoints`));
  await client.cancel();
  return location;
}

describe('claim mode', () => {
  it('CLAIM: the savepoint is retained until newer checkpoints subsume it, then deleted', async () => {
    const sp = await savepoint();
    const client = job({ numRetained: 2 }, { path: `${sp}/_metadata`, claimMode: 'CLAIM' }).executeAsync('claims');
    await whenRunning(() => client.triggerCheckpoint());
    expect(existsSync(sp), 'one newer checkpoint, two retained: the savepoint is still one of them').toBe(true);
    await client.triggerCheckpoint();
    // Deleting what a completion subsumed follows the completion, as in Flink.
    await until('the subsumed savepoint is deleted', () => !existsSync(sp));
    await client.cancel();
    expect((await client.result).completedCheckpoints.map((c) => c.location)).not.toContain(sp);
  });

  it('NO_CLAIM (the default): the savepoint is never touched', async () => {
    for (const claimMode of ['NO_CLAIM', undefined] as const) {
      const sp = await savepoint();
      const client = job({ numRetained: 1, retention: 'DELETE_ON_CANCELLATION' }, { path: sp, ...(claimMode === undefined ? {} : { claimMode }) }).executeAsync('does not claim');
      await whenRunning(() => client.triggerCheckpoint());
      await client.triggerCheckpoint();
      await client.cancel();
      const result = await client.result;
      expect(result.completedCheckpoints.map((c) => c.location)).not.toContain(sp);
      expect(existsSync(`${sp}/_metadata`)).toBe(true);
    }
  });

  it('CLAIM: a claimed savepoint not yet subsumed goes as the retention setting says when the job is cancelled', async () => {
    const kept = await savepoint();
    const retaining = job({ numRetained: 2, retention: 'RETAIN_ON_CANCELLATION' }, { path: kept, claimMode: 'CLAIM' }).executeAsync('retains');
    const newer = await whenRunning(() => retaining.triggerCheckpoint());
    await retaining.cancel();
    expect((await retaining.result).completedCheckpoints.map((c) => c.location)).toEqual([kept, newer]);
    expect(existsSync(`${kept}/_metadata`)).toBe(true);

    const deleted = await savepoint();
    const deleting = job({ numRetained: 2, retention: 'DELETE_ON_CANCELLATION' }, { path: deleted, claimMode: 'CLAIM' }).executeAsync('deletes');
    await whenRunning(() => deleting.triggerCheckpoint());
    await deleting.cancel();
    expect((await deleting.result).completedCheckpoints).toEqual([]);
    expect(existsSync(deleted)).toBe(false);
  });
});
