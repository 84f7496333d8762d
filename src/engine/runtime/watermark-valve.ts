/**
 * Combines the watermarks of several input channels into the operator's watermark: the minimum
 * over the channels still open, emitted only when it advances (Flink's StatusWatermarkValve,
 * without idleness for now).
 */
export class WatermarkValve {
  readonly #marks: number[];
  readonly #ended: boolean[];
  #emitted = Number.NEGATIVE_INFINITY;

  constructor(channels: number) {
    this.#marks = Array<number>(channels).fill(Number.NEGATIVE_INFINITY);
    this.#ended = Array<boolean>(channels).fill(false);
  }

  /** The new combined watermark, or undefined when it did not advance. */
  onWatermark(channel: number, timestamp: number): number | undefined {
    if (timestamp > (this.#marks[channel] ?? Number.NEGATIVE_INFINITY)) this.#marks[channel] = timestamp;
    return this.#advance();
  }

  onEndOfInput(channel: number): number | undefined {
    this.#ended[channel] = true;
    return this.#advance();
  }

  #advance(): number | undefined {
    let min = Number.POSITIVE_INFINITY;
    let open = false;
    this.#marks.forEach((mark, i) => {
      if (this.#ended[i]) return;
      open = true;
      if (mark < min) min = mark;
    });
    // When every channel ended, event time is over: timers all fire (Flink's MAX_WATERMARK).
    const combined = open ? min : Number.POSITIVE_INFINITY;
    if (combined <= this.#emitted) return undefined;
    this.#emitted = combined;
    return combined;
  }
}
