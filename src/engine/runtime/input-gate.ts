/**
 * Reads the input channels of one subtask and turns them into events for its operator chain:
 * records in arrival order, the combined watermark, "snapshot now" when a checkpoint's barriers
 * have aligned, and the end once every channel ended. Blocked channels (exactly-once alignment)
 * are simply not read, so their senders feel backpressure instead of the gate buffering them.
 */
import { InternalError } from '../../errors.ts';
import type { BarrierAction, BarrierHandler } from './barrier-handler.ts';
import type { ChannelReceiver } from './channel.ts';
import { decodeBatch } from './element-codec.ts';
import type { Barrier, StreamElement } from './stream-element.ts';
import { WatermarkValve } from './watermark-valve.ts';

export type GateEvent =
  | { readonly kind: 'record'; readonly channel: number; readonly value: unknown; readonly timestamp: number | null }
  | { readonly kind: 'watermark'; readonly timestamp: number }
  | { readonly kind: 'checkpoint'; readonly barrier: Barrier }
  | { readonly kind: 'checkpoint-aborted'; readonly checkpointId: number }
  | { readonly kind: 'end' };

interface ChannelState {
  readonly receiver: ChannelReceiver;
  /** Decoded elements not yet handed out (a batch may hold elements after a barrier). */
  queue: StreamElement[];
  position: number;
  /** A receive in flight, so a slow channel is waited for only once. */
  pending: Promise<Uint8Array | null> | undefined;
  ended: boolean;
}

export class InputGate {
  readonly #channels: ChannelState[];
  readonly #handler: BarrierHandler;
  readonly #valve: WatermarkValve;
  readonly #ready: GateEvent[] = [];
  #next = 0; // round-robin start, so one busy channel cannot starve the others
  #finished = false;

  constructor(receivers: readonly ChannelReceiver[], handler: BarrierHandler) {
    this.#channels = receivers.map((receiver) => ({ receiver, queue: [], position: 0, pending: undefined, ended: false }));
    this.#handler = handler;
    this.#valve = new WatermarkValve(receivers.length);
  }

  /** Whether `next` can answer without waiting for a channel (else the caller may flush first). */
  hasReady(): boolean {
    return this.#ready.length > 0 || this.#pickBufferedPeek();
  }

  #pickBufferedPeek(): boolean {
    return this.#channels.some((c, i) => c.position < c.queue.length && !this.#handler.isBlocked(i));
  }

  async next(): Promise<GateEvent> {
    for (;;) {
      const ready = this.#ready.shift();
      if (ready !== undefined) return ready;
      if (this.#finished) return { kind: 'end' };
      if (this.#channels.every((c) => c.ended)) {
        this.#finished = true;
        return { kind: 'end' };
      }
      const channel = this.#pickBuffered();
      if (channel !== undefined) {
        this.#handle(channel, this.#take(channel));
        continue;
      }
      await this.#awaitAnyBatch();
    }
  }

  /** An unblocked channel with decoded elements waiting, in round-robin order. */
  #pickBuffered(): number | undefined {
    const n = this.#channels.length;
    for (let k = 0; k < n; k++) {
      const i = (this.#next + k) % n;
      const c = this.#channels[i]!;
      if (c.position < c.queue.length && !this.#handler.isBlocked(i)) {
        this.#next = (i + 1) % n;
        return i;
      }
    }
    return undefined;
  }

  #take(i: number): StreamElement {
    const c = this.#channels[i]!;
    const element = c.queue[c.position]!; // #pickBuffered checked position < length
    c.position += 1;
    if (c.position === c.queue.length) {
      c.queue = [];
      c.position = 0;
    }
    return element;
  }

  /** Waits until some unblocked, open channel delivers a batch (or ends). */
  async #awaitAnyBatch(): Promise<void> {
    const waiting = this.#channels
      .map((c, i) => ({ c, i }))
      .filter(({ c, i }) => !c.ended && !this.#handler.isBlocked(i) && c.position >= c.queue.length);
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
    c.queue = decodeBatch(batch);
    c.position = 0;
  }

  #handle(channel: number, element: StreamElement): void {
    switch (element.kind) {
      case 'record':
        this.#ready.push({ kind: 'record', channel, value: element.value, timestamp: element.timestamp });
        return;
      case 'watermark': {
        const combined = this.#valve.onWatermark(channel, element.timestamp);
        if (combined !== undefined) this.#ready.push({ kind: 'watermark', timestamp: combined });
        return;
      }
      case 'barrier':
        this.#apply(this.#handler.onBarrier(channel, element.barrier));
        return;
      case 'end-of-input': {
        const c = this.#channels[channel]!;
        if (c.ended) return;
        c.ended = true;
        this.#apply(this.#handler.onEndOfInput(channel));
        const combined = this.#valve.onEndOfInput(channel);
        if (combined !== undefined) this.#ready.push({ kind: 'watermark', timestamp: combined });
      }
    }
  }

  #apply(actions: readonly BarrierAction[]): void {
    for (const action of actions) {
      this.#ready.push(action.kind === 'checkpoint' ? { kind: 'checkpoint', barrier: action.barrier } : { kind: 'checkpoint-aborted', checkpointId: action.checkpointId });
    }
  }
}
