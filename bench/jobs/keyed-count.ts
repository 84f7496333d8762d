/**
 * The scale benchmark's job: a keyed count (bench/engine.ts's pipeline) as a job file, so task
 * slots in worker threads can build it. Args: records, keys, output directory. Each sink
 * subtask writes its record count and checksum (sum of the emitted counts) there at the end.
 */
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { DataGeneratorSource, type KeyedProcessFunction, type RuntimeContext, type StreamExecutionEnvironment, type ValueState, valueState } from '../../src/index.ts';
import type { SinkFunction } from '../../src/engine/runtime/operators.ts';
import { fmix32 } from '../../src/format/murmur3.ts';

class Count implements KeyedProcessFunction<string, string, number> {
  private count!: ValueState<number>;

  open(ctx: RuntimeContext): void {
    this.count = ctx.getState(valueState<number>('count'));
  }

  processElement(key: string, _ctx: unknown, out: { collect(n: number): void }): void {
    const n = (this.count.value() ?? 0) + 1;
    this.count.update(n);
    out.collect(n);
  }
}

class TotalsSink implements SinkFunction<number> {
  #records = 0;
  #sum = 0;
  #subtask = 0;

  constructor(private readonly outDir: string) {}

  open(ctx: RuntimeContext): void {
    this.#subtask = ctx.subtaskIndex;
  }

  invoke(n: number): void {
    this.#records += 1;
    this.#sum += n;
  }

  finish(): void {
    writeFileSync(join(this.outDir, `sink-${this.#subtask}.json`), JSON.stringify({ records: this.#records, sum: this.#sum }));
  }
}

export default (env: StreamExecutionEnvironment, args: string[]): void => {
  const records = Number(args[0]);
  const keys = Number(args[1]);
  const outDir = args[2]!;
  env
    .fromSource(new DataGeneratorSource({ count: records, seed: 1, generate: (i) => `k${fmix32(i) % keys}` }), 'keys')
    .uid('keys')
    .keyBy((k) => k)
    .process(() => new Count())
    .uid('count')
    .sinkTo(() => new TotalsSink(outDir))
    .uid('totals');
};
