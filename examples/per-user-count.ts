/**
 * A running count per user, with keyed state (the README's example).
 * Run it: npx tsx examples/run-per-user-count.ts
 */
import { type Collector, DataGeneratorSource, type KeyedProcessFunction, PrintSink, type RuntimeContext, type StreamExecutionEnvironment, type ValueState, valueState } from '../src/index.ts';

type Count = { user: string; n: number };

class CountPerUser implements KeyedProcessFunction<string, string, Count> {
  private count!: ValueState<number>;

  open(ctx: RuntimeContext): void {
    this.count = ctx.getState(valueState<number>('count'));
  }

  processElement(user: string, _ctx: unknown, out: Collector<Count>): void {
    const n = (this.count.value() ?? 0) + 1;
    this.count.update(n);
    out.collect({ user, n });
  }
}

export default (env: StreamExecutionEnvironment, args: string[]): void => {
  const records = Number(args[0] ?? 1_000);
  env
    .fromSource(new DataGeneratorSource({ count: records, seed: 7, generate: (_i, random) => `user-${Math.floor(random() * 10)}` }), 'users')
    .uid('users')
    .keyBy((user) => user)
    .process(() => new CountPerUser())
    .uid('per-user-count')
    .sinkTo(new PrintSink<Count>());
};
