/**
 * Runs a WatermarkStrategy in the stream (Flink's TimestampsAndWatermarksOperator): sets each
 * record's timestamp, tells the generator, and emits the generator's watermark periodically.
 *
 * Periodic means two things here. Every `intervalMs` of wall time, as Flink's
 * auto-watermark-interval, so a slow or idle-ish stream still advances event time. And every
 * `everyRecords` records, which Flink does not do: a bounded replay (every test, a backfill) can
 * push tens of thousands of records through in less than one wall-clock interval, and event time
 * would then only advance at the end of input, all windows firing at once and all state piling
 * up until then. Counting records ties watermark progress to the data instead of to machine
 * speed, so the same input gives the same watermarks at the same places on any machine (per
 * subtask), at the cost of one comparison per record.
 *
 * Watermarks from upstream are ignored, except the final +Infinity at the end of input (as in
 * Flink): this operator is where event time is defined for everything downstream.
 */
import { UserError } from '../../errors.ts';
import type { WatermarkGenerator, WatermarkOutput, WatermarkStrategy } from '../api/watermark-strategy.ts';
import type { ProcessingTimeService } from './processing-time-service.ts';
import type { OperatorSetup, Output, StreamOperator } from './stream-operator.ts';

export class TimestampsAndWatermarksOperator implements StreamOperator {
  #output!: Output;
  #processingTime!: ProcessingTimeService;
  #generator!: WatermarkGenerator<unknown>;
  #cancelTick: (() => void) | undefined;
  #sinceEmit = 0;
  #emitted = Number.NEGATIVE_INFINITY;
  readonly #watermarkOutput: WatermarkOutput = {
    // Only advancing watermarks leave the operator (Flink's WatermarkToDataOutput).
    emitWatermark: (timestamp) => {
      if (!(timestamp > this.#emitted)) return;
      this.#emitted = timestamp;
      this.#output.emitWatermark(timestamp);
    },
  };

  constructor(private readonly strategy: WatermarkStrategy<unknown>) {}

  open(setup: OperatorSetup): void {
    this.#output = setup.output;
    this.#processingTime = setup.processingTime;
    this.#generator = this.strategy.createGenerator();
    this.#scheduleTick();
  }

  processRecord(value: unknown, previous: number | null): void {
    const assign = this.strategy.timestampAssigner;
    const timestamp = assign === undefined ? previous : assign(value, previous);
    if (typeof timestamp !== 'number' || !Number.isFinite(timestamp)) {
      throw new UserError(
        assign === undefined
          ? 'a record reached assignTimestampsAndWatermarks without a timestamp: give the strategy a timestamp assigner (withTimestampAssigner)'
          : `the timestamp assigner returned ${String(timestamp)} for a record: it must return a finite number of ms`,
      );
    }
    this.#output.collect(value, timestamp);
    this.#generator.onEvent(value, timestamp, this.#watermarkOutput);
    if (++this.#sinceEmit >= this.strategy.emission.everyRecords) this.#emitPeriodic();
  }

  processWatermark(timestamp: number): void {
    if (timestamp !== Number.POSITIVE_INFINITY) return;
    this.#cancel();
    this.#watermarkOutput.emitWatermark(timestamp);
  }

  close(): void {
    this.#cancel();
  }

  #emitPeriodic(): void {
    this.#sinceEmit = 0;
    this.#generator.onPeriodicEmit(this.#watermarkOutput);
  }

  #scheduleTick(): void {
    const at = this.#processingTime.now() + this.strategy.emission.intervalMs;
    this.#cancelTick = this.#processingTime.scheduleAt(at, () => {
      this.#emitPeriodic();
      this.#scheduleTick();
    });
  }

  #cancel(): void {
    this.#cancelTick?.();
    this.#cancelTick = undefined;
  }
}
