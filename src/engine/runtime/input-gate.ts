/**
 * Reads the input channels of one subtask and turns them into events for its operator chain:
 * records in arrival order, the combined watermark, "snapshot now" when a checkpoint's barriers
 * have aligned, "aborted" when one never will (overtaken, or cancelled by a marker), and the end
 * once every channel ended. Blocked channels (exactly-once alignment)
 * are simply not read, so their senders feel backpressure instead of the gate buffering them.
 */
import { InternalError } from '../../errors.ts';
import type { BarrierAction, BarrierHandler } from './barrier-handler.ts';
import type { ChannelReceiver } from './channel.ts';
import { BatchReader, READ_RECORD } from './element-codec.ts';
import type { Barrier, StreamElement } from './stream-element.ts';
import { WatermarkValve } from './watermark-valve.ts';

export interface RecordEvent {
  readonly kind: 'record';
  readonly channel: number;
  readonly value: unknown;
  readonly timestamp: number | null;
  /** The key group the upstream partitioner computed, or -1 when the record was not routed by key. */
  readonly keyGroup: number;
}

export type GateEvent =
  | RecordEvent
  | { readonly kind: 'watermark'; readonly timestamp: number }
  | { readonly kind: 'checkpoint'; readonly barrier: Barrier }
  | { readonly kind: 'checkpoint-aborted'; readonly checkpointId: number; readonly cause: 'overtaken' | 'cancelled' }
  | { readonly kind: 'end' };

/** The record event `poll` hands out: one object per gate, refilled for every record. */
interface ReusedRecordEvent {
  readonly kind: 'record';
  channel: number;
  value: unknown;
  timestamp: number | null;
  keyGroup: number;
}

interface ChannelState {
  readonly receiver: ChannelReceiver;
  /** The batch being read (a batch may hold elements after a barrier). */
  readonly batch: BatchReader;
  /** A receive in flight, so a slow channel is waited for only once. */
  pending: Promise<Uint8Array | null> | undefined;
  ended: boolean;
}

const END: GateEvent = { kind: 'end' };

export class InputGate {
  readonly #channels: ChannelState[];
  readonly #handler: BarrierHandler;
  readonly #valve: WatermarkValve;
  readonly #ready: GateEvent[] = [];
  readonly #record: ReusedRecordEvent = { kind: 'record', channel: 0, value: undefined, timestamp: null, keyGroup: -1 };
  #next = 0; // round-robin start, so one busy channel cannot starve the others
  #open: number;
  #finished = false;

  constructor(receivers: readonly ChannelReceiver[], handler: BarrierHandler) {
    this.#channels = receivers.map((receiver) => ({ receiver, batch: new BatchReader(), pending: undefined, ended: false }));
    this.#handler = handler;
    this.#valve = new WatermarkValve(receivers.length);
    this.#open = receivers.length;
  }

  /**
   * The next event if it can be had without waiting for a channel, else undefined (then await
   * `awaitInput`). Synchronous, for the per-record path. A record event is one object reused for
   * every record: read it before the next call.
   */
  poll(): GateEvent | undefined {
    for (;;) {
      // Checked before shifting: shift() on the (almost always) empty queue is a call per record.
      if (this.#ready.length !== 0) return this.#ready.shift()!;
      if (this.#finished) return END;
      if (this.#open === 0) {
        this.#finished = true;
        return END;
      }
      const i = this.#pickBuffered();
      if (i === undefined) return undefined;
      const batch = this.#channels[i]!.batch;
      const element = batch.read();
      if (element === READ_RECORD) {
        const record = this.#record;
        record.channel = i;
        record.value = batch.value;
        record.timestamp = batch.timestamp;
        record.keyGroup = batch.keyGroup;
        return record;
      }
      this.#handle(i, element);
    }
  }

  /** The next event, waiting for input if need be (a fresh object each time). */
  async next(): Promise<GateEvent> {
    for (;;) {
      const event = this.poll();
      if (event !== undefined) return event.kind === 'record' ? { ...event } : event;
      await this.awaitInput();
    }
  }

  /**
   * Waits until some unblocked, open channel delivers a batch (or ends). Call again only after
   * the previous call settled: a second waiter on the same receive would read its batch twice.
   */
  async awaitInput(): Promise<void> {
    const waiting: { c: ChannelState; i: number }[] = [];
    this.#channels.forEach((c, i) => {
      if (!c.ended && !this.#handler.isBlocked(i) && !c.batch.hasNext) waiting.push({ c, i });
    });
    if (waiting.length === 0) {
      // Every readable channel is blocked with nothing buffered: alignment cannot complete.
      throw new InternalError('input gate stalled: every open channel is blocked');
    }
    const results = waiting.map(({ c, i }) => {
      c.pending ??= c.receiver.receive();
      return c.pending.then((batch) => ({ i, batch }));
    });
    const { i, batch } = await Promise.race(results);
    const c = this.#channels[i]!;
    c.pending = undefined;
    if (batch === null) {
      // The sender closed without an end-of-input element: treat it as the end of that input.
      this.#handle(i, { kind: 'end-of-input' });
      return;
    }
    c.batch.load(batch);
  }

  /** An unblocked channel with decoded elements waiting, in round-robin order. */
  #pickBuffered(): number | undefined {
    const channels = this.#channels;
    const n = channels.length;
    if (n === 1) return channels[0]!.batch.hasNext && !this.#handler.isBlocked(0) ? 0 : undefined;
    for (let k = 0; k < n; k++) {
      const i = (this.#next + k) % n;
      if (channels[i]!.batch.hasNext && !this.#handler.isBlocked(i)) {
        this.#next = (i + 1) % n;
        return i;
      }
    }
    return undefined;
  }

  #handle(channel: number, element: Exclude<StreamElement, { kind: 'record' }>): void {
    switch (element.kind) {
      case 'watermark': {
        const combined = this.#valve.onWatermark(channel, element.timestamp);
        if (combined !== undefined) this.#ready.push({ kind: 'watermark', timestamp: combined });
        return;
      }
      case 'barrier':
        this.#apply(this.#handler.onBarrier(channel, element.barrier));
        return;
      case 'cancel-barrier':
        this.#apply(this.#handler.onCancelBarrier(channel, element.checkpointId));
        return;
      case 'end-of-input': {
        const c = this.#channels[channel]!;
        if (c.ended) return;
        c.ended = true;
        this.#open -= 1;
        this.#apply(this.#handler.onEndOfInput(channel));
        const combined = this.#valve.onEndOfInput(channel);
        if (combined !== undefined) this.#ready.push({ kind: 'watermark', timestamp: combined });
      }
    }
  }

  #apply(actions: readonly BarrierAction[]): void {
    for (const action of actions) {
      this.#ready.push(action.kind === 'checkpoint' ? { kind: 'checkpoint', barrier: action.barrier } : { kind: 'checkpoint-aborted', checkpointId: action.checkpointId, cause: action.cause });
    }
  }
}
