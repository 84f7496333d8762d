/**
 * State TTL in a running job (issue 11): a state declared with a TTL runs (the TTL layer wraps
 * the backend's handles), and what is not built (here RocksDB compaction-filter cleanup) fails
 * the job on its first attempt in one line naming the state and the option, instead of
 * restarting again and again.
 */
import { describe, expect, it } from 'vitest';
import { type Collector, type KeyedProcessFunction, type RuntimeContext, StreamExecutionEnvironment, type ValueState } from '../../src/index.ts';
import type { ValueStateDescriptor } from '../../src/engine/state/state-descriptors.ts';

const TTL = { ttlMs: 60_000, update: 'OnCreateAndWrite', visibility: 'NeverReturnExpired' } as const;

class Dedup implements KeyedProcessFunction<string, string, string> {
  private seen!: ValueState<boolean>;
  constructor(private readonly descriptor: ValueStateDescriptor<boolean>) {}
  open(ctx: RuntimeContext): void {
    this.seen = ctx.getState(this.descriptor);
  }
  processElement(value: string, _ctx: unknown, out: Collector<string>): void {
    if (this.seen.value() !== true) out.collect(value);
    this.seen.update(true);
  }
}

function run(descriptor: ValueStateDescriptor<boolean>, out: string[]): ReturnType<StreamExecutionEnvironment['executeAsync']> {
  const env = StreamExecutionEnvironment.getExecutionEnvironment().setRestartStrategy({ type: 'fixed-delay', attempts: 1000, delayMs: 1 });
  env
    .fromElements('a', 'b', 'a')
    .keyBy((v) => v)
    .process(() => new Dedup(descriptor))
    .uid('dedup')
    .map((v) => {
      out.push(v);
      return v;
    })
    .uid('out');
  return env.executeAsync('ttl');
}

describe('state TTL in a job', () => {
  it('runs a state declared with a TTL (a literal descriptor too)', async () => {
    const out: string[] = [];
    const client = run({ kind: 'value', name: 'seen', ttl: TTL }, out);
    await expect(client.result).resolves.toMatchObject({ status: 'FINISHED' });
    expect(out.sort()).toEqual(['a', 'b']);
  });

  it('fails the job at once, in one line, for a TTL option that is not built', async () => {
    const line = "keyed state 'seen': ttl cleanupInRocksdbCompactFilter is not supported yet (on-disk backends come later); remove it: the heap cleans up incrementally";
    const client = run({ kind: 'value', name: 'seen', ttl: { ...TTL, cleanupInRocksdbCompactFilter: 1000 } }, []);
    await expect(client.result).rejects.toThrow(line);
    expect(client.status()).toBe('FAILED');
  });
});
