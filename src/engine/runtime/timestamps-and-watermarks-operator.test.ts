import { describe, expect, it } from 'vitest';
import type { RuntimeContext } from '../api/runtime-context.ts';
import { WatermarkStrategy } from '../api/watermark-strategy.ts';
import { ManualProcessingTime } from './manual-processing-time.ts';
import type { Output } from './stream-operator.ts';
import { TimestampsAndWatermarksOperator } from './timestamps-and-watermarks-operator.ts';

type Emitted = ['record', unknown, number | null] | ['watermark', number];

function open(strategy: WatermarkStrategy<number>) {
  const emitted: Emitted[] = [];
  const output: Output = { collect: (v, t) => void emitted.push(['record', v, t]), emitWatermark: (t) => void emitted.push(['watermark', t]) };
  const clock = new ManualProcessingTime(0);
  const operator = new TimestampsAndWatermarksOperator(strategy as WatermarkStrategy<unknown>);
  operator.open({ context: {} as RuntimeContext, output, isRestored: false, processingTime: clock });
  return { emitted, clock, operator };
}

describe('TimestampsAndWatermarksOperator', () => {
  it('stamps records and emits maxTimestamp - outOfOrderness - 1 every 200 ms of wall time, only when it advances', async () => {
    const { emitted, clock, operator } = open(WatermarkStrategy.forBoundedOutOfOrderness<number>(10).withTimestampAssigner((v) => v * 100));
    operator.processRecord(5, null);
    operator.processRecord(3, 42);
    expect(emitted).toEqual([
      ['record', 5, 500],
      ['record', 3, 300],
    ]);
    await clock.advanceTo(199);
    expect(emitted).toHaveLength(2);
    await clock.advanceTo(200);
    expect(emitted.at(-1)).toEqual(['watermark', 489]);
    await clock.advanceTo(400); // nothing new: no watermark
    expect(emitted).toHaveLength(3);
    operator.processRecord(7, null);
    await clock.advanceTo(600);
    expect(emitted.at(-1)).toEqual(['watermark', 689]);
  });

  it('also emits every N records, ignores upstream watermarks but the final +Infinity, and stops ticking after it', async () => {
    const strategy = WatermarkStrategy.forMonotonousTimestamps<number>().withEmission({ everyRecords: 2 });
    const { emitted, clock, operator } = open(strategy);
    operator.processRecord(1, 10);
    operator.processRecord(2, 20);
    expect(emitted.at(-1)).toEqual(['watermark', 19]);
    operator.processWatermark(1_000_000);
    expect(emitted.at(-1)).toEqual(['watermark', 19]);
    operator.processWatermark(Number.POSITIVE_INFINITY);
    expect(emitted.at(-1)).toEqual(['watermark', Number.POSITIVE_INFINITY]);
    expect(clock.pending).toBe(0);
  });

  it('keeps the timestamp a record carries without an assigner, and refuses a record without one', () => {
    const { emitted, operator } = open(WatermarkStrategy.forMonotonousTimestamps<number>());
    operator.processRecord(1, 77);
    expect(emitted).toEqual([['record', 1, 77]]);
    expect(() => operator.processRecord(2, null)).toThrow(/withTimestampAssigner/);
  });
});
