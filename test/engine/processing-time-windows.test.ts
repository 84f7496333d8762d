/**
 * Processing-time windows on the job's ManualClock: the test feeds records by hand, moves the
 * clock and waits for what must fire, so nothing depends on the machine's speed. windowAll runs
 * at parallelism 1 whatever the job's parallelism, and refuses another.
 */
import { describe, expect, it } from 'vitest';
import {
  ContinuousProcessingTimeTrigger,
  ManualClock,
  type Trigger,
  type Window,
  ProcessingTimeSessionWindows,
  SlidingProcessingTimeWindows,
  StreamExecutionEnvironment,
  TumblingProcessingTimeWindows,
  type WindowAssigner,
} from '../../src/index.ts';
import { PushedSource, until } from '../support/pushed-source.ts';

const T = Date.UTC(2026, 0, 1); // a multiple of every window size below

function job(assigner: WindowAssigner, all = false, trigger?: Trigger<unknown, Window>) {
  const clock = new ManualClock(T);
  const source = new PushedSource<string>();
  const out: { value: string; timestamp: number | null }[] = [];
  const env = StreamExecutionEnvironment.getExecutionEnvironment().setParallelism(2).setProcessingTimeClock(clock.now);
  const input = env.fromSource(source, 'pushed').uid('pushed').setParallelism(1);
  const collect = { invoke: (value: string, { timestamp }: { timestamp: number | null }) => void out.push({ value, timestamp: timestamp === null ? null : timestamp - T }) };
  const describeWindow = (w: { start: number; end: number }, elements: readonly string[]) => `[${w.start - T}, ${w.end - T}) ${elements.join(',')}`;
  if (all) input.windowAll(assigner).process(({ window }, elements, o) => o.collect(describeWindow(window, elements))).uid('window').sinkTo(collect).setParallelism(1);
  else
    input
      .keyBy((v) => v[0]!)
      .window(assigner)
      .trigger(trigger ?? assigner.getDefaultTrigger())
      .process((_k, { window }, elements, o) => o.collect(describeWindow(window, elements)))
      .uid('window')
      .sinkTo(collect);
  const client = env.executeAsync('processing-time windows');
  const seen = (n: number) => until(`${n} records in the window operator`, () => (client.recordCounts().get('window')?.in ?? 0) >= n);
  const fired = (n: number) => until(`${n} window results`, () => out.length >= n);
  return { clock, source, out, client, seen, fired };
}

describe('processing-time windows', () => {
  it('tumbling: a record goes into the window of the moment it is processed, which fires when the clock passes its end', async () => {
    const { clock, source, out, client, seen, fired } = job(TumblingProcessingTimeWindows.of(10_000));
    clock.set(T + 1_000);
    source.push('a1', 'a2', 'b1');
    await seen(3);
    clock.set(T + 9_998);
    source.push('a3');
    await seen(4);
    expect(out).toEqual([]);
    clock.set(T + 12_000); // passes 9_999
    await fired(2);
    source.push('a4');
    await seen(5);
    clock.set(T + 20_000);
    await fired(3);
    source.end();
    await client.result;
    expect(out.slice(0, 2).sort((x, y) => x.value.localeCompare(y.value))).toEqual([
      { value: '[0, 10000) a1,a2,a3', timestamp: 9_999 },
      { value: '[0, 10000) b1', timestamp: 9_999 },
    ]);
    expect(out[2]).toEqual({ value: '[10000, 20000) a4', timestamp: 19_999 });
  });

  it('sliding: every window of the moment, each firing at its end; windows still open at the end of input do not fire', async () => {
    const { clock, source, out, client, seen, fired } = job(SlidingProcessingTimeWindows.of(10_000, 5_000));
    clock.set(T + 1_000);
    source.push('a1');
    await seen(1);
    clock.set(T + 6_000);
    await fired(1); // [-5000, 5000)
    source.push('a2');
    await seen(2);
    clock.set(T + 10_000);
    await fired(2); // [0, 10000)
    source.end();
    await client.result;
    // [5000, 15000) holds a2 but the input ended first: processing-time timers not yet due do not fire (as Flink).
    expect(out).toEqual([
      { value: '[-5000, 5000) a1', timestamp: 4_999 },
      { value: '[0, 10000) a1,a2', timestamp: 9_999 },
    ]);
  });

  it('processing-time sessions merge records closer than the gap', async () => {
    const { clock, source, out, client, seen, fired } = job(ProcessingTimeSessionWindows.withGap(5_000));
    clock.set(T + 1_000);
    source.push('a1');
    await seen(1);
    clock.set(T + 4_000);
    source.push('a2'); // [4000, 9000) merges with [1000, 6000)
    await seen(2);
    // Before 8_999, when [1000, 9000) would fire: moving the clock there would race the record.
    clock.set(T + 8_998);
    source.push('a3'); // [8998, 13998) overlaps [1000, 9000)
    await seen(3);
    clock.set(T + 13_996);
    expect(out).toEqual([]);
    clock.set(T + 14_000);
    await fired(1);
    source.end();
    await client.result;
    expect(out).toEqual([{ value: '[1000, 13998) a1,a2,a3', timestamp: 13_997 }]);
  });

  it('ContinuousProcessingTimeTrigger fires every interval of the clock while the window is open, the last time at its end', async () => {
    const { clock, source, out, client, seen, fired } = job(TumblingProcessingTimeWindows.of(10_000), false, ContinuousProcessingTimeTrigger.of(3_000));
    clock.set(T + 1_000);
    source.push('a1'); // first firing at 3_000 (1_000 aligned down to 0, plus the interval)
    await seen(1);
    clock.set(T + 3_000);
    await fired(1);
    source.push('a2');
    await seen(2);
    clock.set(T + 6_000);
    await fired(2);
    clock.set(T + 9_000);
    await fired(3);
    clock.set(T + 10_000); // the next is min(12_000, the window's end 9_999); then the window is cleaned up
    await fired(4);
    source.end();
    await client.result;
    expect(out.map((o) => o.value)).toEqual(['[0, 10000) a1', '[0, 10000) a1,a2', '[0, 10000) a1,a2', '[0, 10000) a1,a2']);
    expect(out.every((o) => o.timestamp === 9_999)).toBe(true);
  });

  it('windowAll puts every key into one window, at parallelism 1', async () => {
    const { clock, source, out, client, seen, fired } = job(TumblingProcessingTimeWindows.of(10_000), true);
    clock.set(T + 1_000);
    source.push('a1', 'b1', 'c1');
    await seen(3);
    clock.set(T + 10_000);
    await fired(1);
    source.end();
    await client.result;
    expect(out).toEqual([{ value: '[0, 10000) a1,b1,c1', timestamp: 9_999 }]);
    expect(client.subtaskRecordCounts().get('window')).toHaveLength(1);
  });

  it('windowAll refuses another parallelism in one line, as Flink', () => {
    const env = StreamExecutionEnvironment.getExecutionEnvironment();
    const all = env.fromElements(1, 2, 3).countWindowAll(2).reduce((a, b) => a + b);
    expect(() => all.setParallelism(4)).toThrow(/^The parallelism of non parallel operator must be 1 \('Window\(GlobalWindows\(\), PurgingTrigger\(CountTrigger\(2\)\), reduce\)' is windowAll\/countWindowAll\), not 4$/);
    expect(() => all.setMaxParallelism(128)).toThrow(/^The maximum parallelism of non parallel operator must be 1/);
    expect(all.setParallelism(1).node.parallelism).toBe(1);
  });
});
