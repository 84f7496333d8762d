/**
 * DataStream.print()/printToErr() print as Flink's PrintSinkFunction (`N> value` with the 1-based
 * subtask when parallel, the plain value at parallelism 1, `id:N> ` with an identifier), and a
 * ProcessFunction on a non-keyed stream sees each record's timestamp and the watermark, emits to
 * its main and side outputs, and is refused timers with Flink's message.
 */
import { afterEach, describe, expect, it, vi } from 'vitest';
import { StreamExecutionEnvironment } from '../../src/engine/api/environment.ts';
import { OutputTag } from '../../src/engine/api/output-tag.ts';
import { WatermarkStrategy } from '../../src/engine/api/watermark-strategy.ts';
import { DataGeneratorSource } from '../../src/engine/connectors/data-generator-source.ts';

/** What the job wrote to stdout or stderr, line by line, sorted (subtasks interleave). */
async function printed(stream: 'stdout' | 'stderr', run: () => Promise<unknown>): Promise<string[]> {
  const lines: string[] = [];
  const spy = vi.spyOn(process[stream], 'write').mockImplementation((chunk: string | Uint8Array) => {
    lines.push(String(chunk));
    return true;
  });
  try {
    await run();
  } finally {
    spy.mockRestore();
  }
  return lines.join('').split('\n').filter((l) => l !== '').sort();
}

/** Records 0..n-1; subtask u of a parallelism-p source emits u, u + p, ... */
const numbers = (env: StreamExecutionEnvironment, n: number, splits: number) => env.fromSource(new DataGeneratorSource<number>({ count: n, splits, generate: (i) => i }), 'numbers');

afterEach(() => {
  vi.restoreAllMocks();
});

describe('print()', () => {
  it('prefixes the 1-based subtask index when the sink runs in parallel', async () => {
    const env = StreamExecutionEnvironment.getExecutionEnvironment().setParallelism(2);
    numbers(env, 4, 2)
      .map((i) => ({ i }))
      .print();
    expect(await printed('stdout', () => env.execute('print p2'))).toEqual(['1> {"i":0}', '1> {"i":2}', '2> {"i":1}', '2> {"i":3}']);
  });

  it('prints the plain value at parallelism 1, and `id> ` with an identifier', async () => {
    const env = StreamExecutionEnvironment.getExecutionEnvironment().setParallelism(1);
    const words = env.fromElements('a', 'b');
    words.print();
    words.print('words');
    expect(await printed('stdout', () => env.execute('print p1'))).toEqual(['a', 'b', 'words> a', 'words> b']);
  });

  it('printToErr writes to stderr, `id:N> ` when parallel; the sinks are named as Flink’s', async () => {
    const env = StreamExecutionEnvironment.getExecutionEnvironment().setParallelism(2);
    const s = numbers(env, 2, 2).map(String);
    const sink = s.printToErr('err');
    expect(sink.node.name).toBe('Print to Std. Err');
    expect(s.print().node.name).toBe('Print to Std. Out');
    const out: string[] = [];
    const err = await printed('stderr', async () => (out.push(...(await printed('stdout', () => env.execute('print to err')))), undefined));
    expect(err).toEqual(['err:1> 0', 'err:2> 1']);
    expect(out).toEqual(['1> 0', '2> 1']);
  });
});

describe('process(ProcessFunction) on a non-keyed stream', () => {
  it('sees each record’s timestamp and the watermark before it, emits to main and side outputs', async () => {
    const small = new OutputTag<string>('small');
    const main: string[] = [];
    const side: string[] = [];
    const env = StreamExecutionEnvironment.getExecutionEnvironment().setParallelism(1);
    const processed = env
      .fromElements(5, 20, 7, 30)
      .assignTimestampsAndWatermarks(WatermarkStrategy.forMonotonousTimestamps<number>().withTimestampAssigner((v) => v * 1000).withEmission({ everyRecords: 1 }))
      .process<string>({
        processElement(v, ctx, out) {
          const line = `${v} at ${ctx.timestamp} (watermark ${ctx.timerService().currentWatermark()})`;
          if (v < 10) ctx.output(small, line);
          else out.collect(line);
        },
      });
    processed.sinkTo(() => ({ invoke: (v: string) => void main.push(v) }));
    processed.getSideOutput(small).sinkTo(() => ({ invoke: (v: string) => void side.push(v) }));
    await env.execute('process');
    // Bounded out-of-orderness 0: the watermark after a record at t is t - 1.
    expect(main).toEqual(['20 at 20000 (watermark 4999)', '30 at 30000 (watermark 19999)']);
    expect(side).toEqual(['5 at 5000 (watermark -Infinity)', '7 at 7000 (watermark 19999)']);
  });

  it('refuses timers with Flink’s message: they need a keyed stream', async () => {
    const env = StreamExecutionEnvironment.getExecutionEnvironment().setParallelism(1);
    env
      .fromElements(1)
      .process<number>({
        processElement(v, ctx) {
          ctx.timerService().registerEventTimeTimer(v);
        },
      })
      .sinkTo(() => ({ invoke: () => undefined }));
    await expect(env.execute('timers')).rejects.toThrow('Setting timers is only supported on a keyed streams.');
  });
});
