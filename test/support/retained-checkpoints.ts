/**
 * Real retained checkpoints of a real job, for tests of tools that read checkpoint directories
 * (`flink gc`): a keyed count over a fixed input at parallelism 1, held open after its last
 * record, so that every checkpoint taken then holds the same state; then cancelled with
 * RETAIN_ON_CANCELLATION, which keeps the newest `retain` of them under `<dir>/<jobId>/chk-<n>`.
 */
import { readdir } from 'node:fs/promises';
import { join } from 'node:path';
import { type Collector, DataGeneratorSource, type KeyedProcessFunction, type RuntimeContext, StreamExecutionEnvironment, type ValueState, valueState } from '../../src/index.ts';

class Count implements KeyedProcessFunction<string, string, number> {
  private count!: ValueState<number>;

  open(ctx: RuntimeContext): void {
    this.count = ctx.getState(valueState<number>('count'));
  }

  processElement(_key: string, _ctx: unknown, out: Collector<number>): void {
    const n = (this.count.value() ?? 0) + 1;
    this.count.update(n);
    out.collect(n);
  }
}

export interface RetainedCheckpoints {
  readonly jobId: string;
  /** Absolute paths of the retained chk-<n> directories, oldest first. */
  readonly checkpoints: readonly string[];
}

export async function retainedCheckpoints(dir: string, options: { readonly checkpoints: number; readonly retain?: number; readonly keys?: number }): Promise<RetainedCheckpoints> {
  const keys = options.keys ?? 50;
  let released = false;
  let seen = 0;
  const env = StreamExecutionEnvironment.getExecutionEnvironment()
    .setParallelism(1)
    .configureCheckpointing({ interval: null, dir, numRetained: options.retain ?? options.checkpoints, retention: 'RETAIN_ON_CANCELLATION' });
  env
    .fromSource(new DataGeneratorSource({ count: 2 * keys, generate: (i) => `k${i % keys}`, endWhen: () => released }), 'keys')
    .uid('keys')
    .keyBy((k: string) => k)
    .process(() => new Count())
    .uid('count')
    .sinkTo({
      invoke() {
        seen += 1;
      },
    })
    .uid('sink');
  const client = env.executeAsync('retained checkpoints');
  try {
    // Every record through, so each checkpoint holds the same state whenever it is taken.
    while (seen < 2 * keys) {
      if (client.status() !== 'RUNNING') throw new Error(`the job ended (${client.status()}) before its input was through`);
      await new Promise((r) => setTimeout(r, 5));
    }
    for (let i = 0; i < options.checkpoints; i++) await client.triggerCheckpoint();
    await client.cancel();
    await client.result.catch(() => undefined);
  } finally {
    released = true;
  }
  const [jobId] = await readdir(dir);
  if (jobId === undefined) throw new Error(`no job directory in ${dir}`);
  const chks = (await readdir(join(dir, jobId))).filter((d) => d.startsWith('chk-')).sort((a, b) => Number(a.slice(4)) - Number(b.slice(4)));
  return { jobId, checkpoints: chks.map((c) => join(dir, jobId, c)) };
}
