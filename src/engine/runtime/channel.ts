/**
 * A one-way channel of encoded batches between two subtasks, with bounded capacity: `send` waits
 * while the channel is full, which is how backpressure reaches the sources. The in-process
 * implementation is a queue; a later one crosses threads or processes behind the same interface.
 */
export interface ChannelSender {
  /** Resolves once the channel has room for the batch (backpressure). */
  send(batch: Uint8Array): Promise<void>;
  /** No more batches; the receiver sees null after the queued ones. */
  close(): void;
}

export interface ChannelReceiver {
  /** The next batch, or null once the sender closed and everything was received. */
  receive(): Promise<Uint8Array | null>;
}

const YIELD_EVERY_BATCHES = 8;

export class LocalChannel implements ChannelSender, ChannelReceiver {
  readonly #queue: Uint8Array[] = [];
  readonly #capacity: number;
  #closed = false;
  #sent = 0;
  #wakeReceiver: (() => void) | undefined;
  #wakeSender: (() => void) | undefined;

  /** `capacity`: batches in flight before `send` waits. */
  constructor(capacity = 4) {
    this.#capacity = Math.max(1, capacity);
  }

  async send(batch: Uint8Array): Promise<void> {
    while (this.#queue.length >= this.#capacity && !this.#closed) {
      await new Promise<void>((resolve) => (this.#wakeSender = resolve));
    }
    if (this.#closed) return;
    this.#queue.push(batch);
    this.#wake('receiver');
    // Subtasks in one process hand batches to each other through promises alone; without a
    // turn of the event loop now and then, timers (checkpoint triggers, timeouts) would starve.
    if (++this.#sent % YIELD_EVERY_BATCHES === 0) await new Promise<void>((resolve) => setImmediate(resolve));
  }

  close(): void {
    this.#closed = true;
    this.#wake('receiver');
    this.#wake('sender');
  }

  async receive(): Promise<Uint8Array | null> {
    while (this.#queue.length === 0) {
      if (this.#closed) return null;
      await new Promise<void>((resolve) => (this.#wakeReceiver = resolve));
    }
    const batch = this.#queue.shift()!; // non-empty: checked by the loop above
    this.#wake('sender');
    return batch;
  }

  #wake(who: 'receiver' | 'sender'): void {
    const wake = who === 'receiver' ? this.#wakeReceiver : this.#wakeSender;
    if (who === 'receiver') this.#wakeReceiver = undefined;
    else this.#wakeSender = undefined;
    wake?.();
  }
}
