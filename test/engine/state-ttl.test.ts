/**
 * State TTL in a running job (issue 11): a state declared with a TTL runs (the TTL layer wraps
 * the backend's handles), and what is not built (here RocksDB compaction-filter cleanup) fails
 * the job on its first attempt in one line naming the state and the option, instead of
 * restarting again and again.
 */
import { describe, expect, it } from 'vitest';
import {
  type Collector,
  DataGeneratorSource,
  type KeyedProcessFunction,
  ManualClock,
  type RuntimeContext,
  StateTtlConfig,
  StreamExecutionEnvironment,
  type ValueState,
  valueState,
} from '../../src/index.ts';
import type { KeyedProcessContext } from '../../src/engine/api/keyed-process.ts';
import type { ValueStateDescriptor } from '../../src/engine/state/state-descriptors.ts';
import { throttled } from '../support/throttled-source.ts';

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
    const line = "keyed state 'seen': ttl cleanupInRocksdbCompactFilter is not supported: tsflink's on-disk backends sweep expired state incrementally (cleanupIncrementally) instead; remove it";
    const client = run({ kind: 'value', name: 'seen', ttl: { ...TTL, cleanupInRocksdbCompactFilter: 1000 } }, []);
    await expect(client.result).rejects.toThrow(line);
    expect(client.status()).toBe('FAILED');
  });
});

describe("the job's processing-time clock", () => {
  it('drives TTL and processing-time timers alike, so a test moves time instead of sleeping', async () => {
    const HOUR = 3_600_000;
    const clock = new ManualClock(Date.UTC(2026, 11, 1));
    const fired: { at: number; seen: boolean | undefined }[] = [];
    class Remind implements KeyedProcessFunction<string, string, string> {
      private seen!: ValueState<boolean>;
      open(ctx: RuntimeContext): void {
        this.seen = ctx.getState(valueState<boolean>('seen', { ttl: StateTtlConfig.newBuilder(HOUR / 2).build() }));
      }
      processElement(_v: string, ctx: KeyedProcessContext<string>): void {
        this.seen.update(true);
        ctx.timerService().registerProcessingTimeTimer(ctx.timerService().currentProcessingTime() + HOUR);
      }
      onTimer(timestamp: number): void {
        fired.push({ at: timestamp, seen: this.seen.value() });
      }
    }
    let released = false;
    const env = StreamExecutionEnvironment.getExecutionEnvironment().setProcessingTimeClock(clock.now);
    env
      .fromSource(throttled(new DataGeneratorSource({ count: 2, generate: () => 'u' }), { recordsPerSecond: 1e6, hold: { after: 1, until: () => released } }), 'one')
      .uid('one')
      .keyBy((v) => v)
      .process(() => new Remind())
      .uid('remind');
    const client = env.executeAsync('clock');
    const until = async (done: () => boolean): Promise<void> => {
      for (let i = 0; i < 1000 && !done(); i++) await new Promise((r) => setTimeout(r, 5));
    };
    await until(() => (client.recordCounts().get('remind')?.in ?? 0) === 1);
    await new Promise((r) => setTimeout(r, 50));
    expect(fired).toEqual([]); // an hour has not passed on the job's clock
    clock.advance(HOUR);
    await until(() => fired.length > 0);
    released = true;
    await client.result;
    // The timer fired at the hour; the state, under a half-hour TTL, had expired by then.
    expect(fired).toEqual([{ at: Date.UTC(2026, 11, 1) + HOUR, seen: undefined }]);
  });
});
