/**
 * A job file for task-slot tests: `<records> <keys> <output dir> [fail-at]`. Record i is key
 * `k<i mod keys>`; a keyed count emits `<key> <n>` for every record, and an exactly-once file
 * sink commits the lines, so a correct run commits `k n` for n = 1..records/keys of every key,
 * each once. With `fail-at`, the first attempt's count subtask 1 throws at its fail-at-th record
 * (a task failure inside one slot), and the restarted attempt must still commit exactly that.
 * The source holds its last record until `<output dir>.release` exists, so a test decides when
 * the input ends (a savepoint or a cancel then finds the job running).
 */
import { existsSync } from 'node:fs';
import { DataGeneratorSource, FileSink, type KeyedProcessFunction, type RuntimeContext, type StreamExecutionEnvironment, type ValueState, valueState } from '../../../src/index.ts';

class CountLines implements KeyedProcessFunction<string, string, string> {
  private count!: ValueState<number>;
  private seen = 0;
  private failAt = Number.POSITIVE_INFINITY;

  constructor(failAt: number | undefined) {
    if (failAt !== undefined) this.failAt = failAt;
  }

  open(ctx: RuntimeContext): void {
    this.count = ctx.getState(valueState<number>('count'));
    if (ctx.attemptNumber > 0 || ctx.subtaskIndex !== 1) this.failAt = Number.POSITIVE_INFINITY;
  }

  processElement(key: string, _ctx: unknown, out: { collect(line: string): void }): void {
    if (++this.seen === this.failAt) throw new Error(`failing at record ${this.seen} on purpose`);
    const n = (this.count.value() ?? 0) + 1;
    this.count.update(n);
    out.collect(`${key} ${n}`);
  }
}

export default (env: StreamExecutionEnvironment, args: string[]): void => {
  const records = Number(args[0]);
  const keys = Number(args[1]);
  const out = args[2]!;
  const failAt = args[3] === undefined ? undefined : Number(args[3]);
  env
    .fromSource(new DataGeneratorSource({ count: records, generate: (i) => `k${i % keys}`, endWhen: () => existsSync(`${out}.release`) }), 'keys')
    .uid('keys')
    .keyBy((k) => k)
    .process(() => new CountLines(failAt))
    .uid('count')
    .sinkTo(FileSink.forRowFormat<string>(out, { encoder: (line) => line }))
    .uid('lines');
};
