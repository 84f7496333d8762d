/**
 * How a stream gets event time (Flink's WatermarkStrategy): a timestamp assigner gives each
 * record its timestamp, and a watermark generator, told of every timestamp, says periodically how
 * far event time has certainly progressed. `DataStream.assignTimestampsAndWatermarks` runs it.
 */
import { UserError } from '../../errors.ts';

/** Where a generator emits watermarks; only advancing ones are passed on. */
export interface WatermarkOutput {
  emitWatermark(timestamp: number): void;
}

/** Flink's WatermarkGenerator: sees every record's timestamp, emits when asked (or at once). */
export interface WatermarkGenerator<T> {
  onEvent(event: T, eventTimestamp: number, output: WatermarkOutput): void;
  onPeriodicEmit(output: WatermarkOutput): void;
}

/**
 * The record's event time in ms. `previousTimestamp` is the timestamp it already carries (from
 * the source, or an earlier assigner), or null.
 */
export type TimestampAssigner<T> = (value: T, previousTimestamp: number | null) => number;

/** When periodic watermarks are emitted: whichever of the two comes first. */
export interface WatermarkEmission {
  /** Wall-clock period, as Flink's `pipeline.auto-watermark-interval` (default 200 ms). */
  readonly intervalMs: number;
  /** Also after this many records of a subtask (default 1000); see timestamps-and-watermarks-operator.ts. */
  readonly everyRecords: number;
}

export const defaultWatermarkEmission: WatermarkEmission = { intervalMs: 200, everyRecords: 1000 };

/**
 * Watermarks `maxTimestamp - maxOutOfOrderness - 1` (Flink's BoundedOutOfOrdernessWatermarks):
 * a record at most `maxOutOfOrderness` ms older than the newest one seen is never late.
 */
export class BoundedOutOfOrdernessWatermarks<T> implements WatermarkGenerator<T> {
  #maxTimestamp = Number.NEGATIVE_INFINITY;

  constructor(private readonly maxOutOfOrdernessMs: number) {}

  onEvent(_event: T, eventTimestamp: number): void {
    if (eventTimestamp > this.#maxTimestamp) this.#maxTimestamp = eventTimestamp;
  }

  onPeriodicEmit(output: WatermarkOutput): void {
    output.emitWatermark(this.#maxTimestamp - this.maxOutOfOrdernessMs - 1);
  }
}

export class WatermarkStrategy<T> {
  private constructor(
    readonly createGenerator: () => WatermarkGenerator<T>,
    readonly timestampAssigner: TimestampAssigner<T> | undefined,
    readonly emission: WatermarkEmission,
  ) {}

  /** Records arrive at most `maxOutOfOrdernessMs` after newer ones. */
  static forBoundedOutOfOrderness<T>(maxOutOfOrdernessMs: number): WatermarkStrategy<T> {
    if (!Number.isFinite(maxOutOfOrdernessMs) || maxOutOfOrdernessMs < 0) {
      throw new UserError(`maxOutOfOrderness must be a number of ms >= 0, not ${maxOutOfOrdernessMs}`);
    }
    return new WatermarkStrategy<T>(() => new BoundedOutOfOrdernessWatermarks<T>(maxOutOfOrdernessMs), undefined, defaultWatermarkEmission);
  }

  /** Timestamps never decrease (per subtask): out-of-orderness 0, as Flink's. */
  static forMonotonousTimestamps<T>(): WatermarkStrategy<T> {
    return WatermarkStrategy.forBoundedOutOfOrderness<T>(0);
  }

  /** A custom generator (called once per subtask). */
  static forGenerator<T>(createGenerator: () => WatermarkGenerator<T>): WatermarkStrategy<T> {
    return new WatermarkStrategy<T>(createGenerator, undefined, defaultWatermarkEmission);
  }

  /** Without one, records keep the timestamp they carry (one set by the source). */
  withTimestampAssigner(assigner: TimestampAssigner<T>): WatermarkStrategy<T> {
    return new WatermarkStrategy<T>(this.createGenerator, assigner, this.emission);
  }

  /** Overrides when periodic watermarks are emitted (see WatermarkEmission). */
  withEmission(emission: Partial<WatermarkEmission>): WatermarkStrategy<T> {
    const merged = { ...this.emission, ...emission };
    for (const [name, value] of Object.entries(merged)) {
      if (!Number.isSafeInteger(value) || value < 1) throw new UserError(`watermark emission ${name} must be a whole number >= 1, not ${value}`);
    }
    return new WatermarkStrategy<T>(this.createGenerator, this.timestampAssigner, merged);
  }
}
