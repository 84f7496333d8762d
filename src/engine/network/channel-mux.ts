/**
 * Many logical channels over one link, with Flink's credit-based flow control per channel: the
 * receiving end announces its capacity in batches as credits, and one credit more for every batch
 * its consumer takes out; the sending end sends a batch only while it holds a credit, else its
 * `send` waits. The link itself therefore never carries more than the receivers can hold, and a
 * channel whose consumer stopped reading (exactly-once barrier alignment blocks some channels of
 * a gate while it reads others) holds up only its own sender, never the other channels.
 *
 * The link is anything that moves frames in order (link.ts): a MessagePort between threads, a
 * socket between processes.
 */
import { InternalError } from '../../errors.ts';
import type { ChannelReceiver, ChannelSender } from '../runtime/channel.ts';
import type { Frame } from './frame.ts';
import type { FrameLink } from './link.ts';

export interface ChannelMux {
  /** The sending end of a logical channel (created once per id). */
  sender(channelId: string): ChannelSender;
  /** The receiving end; announces `capacity` credits to the peer. */
  receiver(channelId: string, capacity?: number): ChannelReceiver;
  /** Closes the link; pending send/receive calls reject with a ChannelClosedError naming the peer. */
  close(): void;
}

/** Batches a receiver holds before its sender waits (Flink's buffers per channel, in batches). */
export const DEFAULT_CHANNEL_CAPACITY = 8;

/** A channel's link is gone: closed, or lost (peer killed, socket reset, heartbeats missing). */
export class ChannelClosedError extends Error {
  override readonly name = 'ChannelClosedError';
  constructor(
    /** The link's name: the peer endpoint and its address. */
    readonly peer: string,
    message: string,
  ) {
    super(message);
  }
}

interface Waiter<T> {
  readonly resolve: (value: T) => void;
  readonly reject: (err: Error) => void;
}

class MuxSender implements ChannelSender {
  credits = 0;
  readonly waiting: { batch: Uint8Array; waiter: Waiter<void> }[] = [];
  #closed = false;
  #endSent = false;

  constructor(
    private readonly id: string,
    private readonly mux: CreditMux,
  ) {}

  send(batch: Uint8Array): Promise<void> {
    const failure = this.mux.failure;
    if (failure !== undefined) return Promise.reject(failure);
    // As LocalChannel: a batch offered after close is dropped.
    if (this.#closed) return Promise.resolve();
    if (this.waiting.length === 0 && this.credits > 0) {
      this.credits -= 1;
      this.mux.transmit({ kind: 'data', channel: this.id, batch });
      return Promise.resolve();
    }
    return new Promise<void>((resolve, reject) => this.waiting.push({ batch, waiter: { resolve, reject } }));
  }

  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    // Sends still waiting for credit were not sent; like LocalChannel's, they return without.
    for (const { waiter } of this.waiting.splice(0)) waiter.resolve();
    this.#sendEnd();
  }

  onCredit(credits: number): void {
    this.credits += credits;
    while (this.credits > 0 && this.waiting.length > 0 && this.mux.failure === undefined) {
      const { batch, waiter } = this.waiting.shift()!; // non-empty: checked above
      this.credits -= 1;
      this.mux.transmit({ kind: 'data', channel: this.id, batch });
      waiter.resolve();
    }
  }

  fail(err: ChannelClosedError): void {
    for (const { waiter } of this.waiting.splice(0)) waiter.reject(err);
  }

  #sendEnd(): void {
    if (this.#endSent || this.mux.failure !== undefined) return;
    this.#endSent = true;
    this.mux.transmit({ kind: 'end', channel: this.id });
  }
}

class MuxReceiver implements ChannelReceiver {
  readonly queue: Uint8Array[] = [];
  readonly waiting: Waiter<Uint8Array | null>[] = [];
  /** Batches the sender may still send: credits announced and not used yet. */
  outstanding = 0;
  ended = false;
  #unannounced = 0;
  #announceAt = 1;

  constructor(
    private readonly id: string,
    private readonly mux: CreditMux,
  ) {}

  receive(): Promise<Uint8Array | null> {
    if (this.queue.length > 0) {
      const batch = this.queue.shift()!; // non-empty: checked above
      this.#giveCredit();
      return Promise.resolve(batch);
    }
    if (this.ended) return Promise.resolve(null);
    const failure = this.mux.failure;
    if (failure !== undefined) return Promise.reject(failure);
    return new Promise((resolve, reject) => this.waiting.push({ resolve, reject }));
  }

  announce(capacity: number): void {
    this.#announceAt = Math.max(1, capacity >> 1);
    this.outstanding += capacity;
    this.mux.transmit({ kind: 'credit', channel: this.id, credits: capacity });
  }

  onData(batch: Uint8Array): void {
    if (this.outstanding === 0 || this.ended) {
      this.mux.lose(`protocol error: batch on channel '${this.id}' ${this.ended ? 'after its end' : 'without credit'}`);
      return;
    }
    this.outstanding -= 1;
    const waiter = this.waiting.shift();
    if (waiter === undefined) {
      this.queue.push(batch);
      return;
    }
    this.#giveCredit();
    waiter.resolve(batch);
  }

  onEnd(): void {
    this.ended = true;
    for (const w of this.waiting.splice(0)) w.resolve(null);
  }

  fail(err: ChannelClosedError): void {
    // A channel that ended keeps delivering what it holds; any other fails at once (Flink's
    // input channel checks its error before its queue), so the task fails promptly.
    if (this.ended) return;
    this.queue.length = 0;
    for (const w of this.waiting.splice(0)) w.reject(err);
  }

  /**
   * One credit back per batch taken out, announced once the sender's window (credits it may
   * still use, batches in flight included) fell below half the capacity; until then it has
   * room to go on and the credits add up. A sender that ran out is answered at the first batch
   * taken. A consumer that keeps up would otherwise cost a frame, and its sender an event, per
   * batch; a consumer that stops reading (alignment) gives back nothing, as it should.
   */
  #giveCredit(): void {
    this.#unannounced += 1;
    if (this.outstanding < this.#announceAt) this.#announce();
  }

  #announce(): void {
    const credits = this.#unannounced;
    if (credits === 0 || this.ended || this.mux.failure !== undefined) return;
    this.#unannounced = 0;
    this.outstanding += credits;
    this.mux.transmit({ kind: 'credit', channel: this.id, credits });
  }
}

/**
 * The mux over a link that is ready for channel frames (any handshake already done). Beyond
 * ChannelMux it tells why and when its link went (`closed`, `failure`) and whom it reaches (`peer`).
 */
export class CreditMux implements ChannelMux {
  readonly #senders = new Map<string, MuxSender>();
  readonly #receivers = new Map<string, MuxReceiver>();
  /** Credits that arrived before `sender(id)` was called. */
  readonly #earlyCredits = new Map<string, number>();
  #failure: ChannelClosedError | undefined;
  /** Settles when the link is gone (closed here, by the peer, or lost), with why. */
  readonly closed: Promise<ChannelClosedError>;
  #settleClosed!: (err: ChannelClosedError) => void;

  constructor(private readonly link: FrameLink) {
    this.closed = new Promise((resolve) => (this.#settleClosed = resolve));
    link.start({ frame: (f) => this.#onFrame(f), lost: (reason) => this.lose(reason) });
  }

  get failure(): ChannelClosedError | undefined {
    return this.#failure;
  }

  get peer(): string {
    return this.link.peer;
  }

  sender(channelId: string): ChannelSender {
    if (this.#senders.has(channelId)) throw new InternalError(`channel '${channelId}' to ${this.link.peer} already has a sender`);
    const sender = new MuxSender(channelId, this);
    this.#senders.set(channelId, sender);
    const early = this.#earlyCredits.get(channelId);
    if (early !== undefined) {
      this.#earlyCredits.delete(channelId);
      sender.onCredit(early);
    }
    return sender;
  }

  receiver(channelId: string, capacity = DEFAULT_CHANNEL_CAPACITY): ChannelReceiver {
    if (this.#receivers.has(channelId)) throw new InternalError(`channel '${channelId}' from ${this.link.peer} already has a receiver`);
    if (!Number.isInteger(capacity) || capacity < 1) throw new InternalError(`channel capacity must be a whole number of batches, at least 1 (got ${capacity})`);
    const receiver = new MuxReceiver(channelId, this);
    this.#receivers.set(channelId, receiver);
    if (this.#failure === undefined) receiver.announce(capacity);
    return receiver;
  }

  close(): void {
    if (this.#failure !== undefined) return;
    this.link.send({ kind: 'goodbye', reason: 'closed' });
    this.#fail(new ChannelClosedError(this.link.peer, `the link to ${this.link.peer} was closed`));
    this.link.close();
  }

  /** Fails every channel of the link: it is gone. */
  lose(reason: string): void {
    if (this.#failure !== undefined) return;
    this.#fail(new ChannelClosedError(this.link.peer, `the link to ${this.link.peer} was lost: ${reason}`));
    this.link.close();
  }

  transmit(frame: Frame): void {
    this.link.send(frame);
  }

  #fail(err: ChannelClosedError): void {
    this.#failure = err;
    for (const s of this.#senders.values()) s.fail(err);
    for (const r of this.#receivers.values()) r.fail(err);
    this.#settleClosed(err);
  }

  #onFrame(frame: Frame): void {
    if (this.#failure !== undefined) return;
    switch (frame.kind) {
      case 'data':
      case 'end': {
        const receiver = this.#receivers.get(frame.channel);
        if (receiver === undefined) {
          this.lose(`protocol error: ${frame.kind} on channel '${frame.channel}', which has no receiver`);
          return;
        }
        if (frame.kind === 'data') receiver.onData(frame.batch);
        else receiver.onEnd();
        return;
      }
      case 'credit': {
        const sender = this.#senders.get(frame.channel);
        if (sender === undefined) this.#earlyCredits.set(frame.channel, (this.#earlyCredits.get(frame.channel) ?? 0) + frame.credits);
        else sender.onCredit(frame.credits);
        return;
      }
      case 'heartbeat':
        return;
      case 'goodbye':
        this.#fail(new ChannelClosedError(this.link.peer, `the link to ${this.link.peer} was closed by the peer (${frame.reason})`));
        this.link.close();
        return;
      default:
        this.lose(`protocol error: unexpected ${frame.kind} frame after the handshake`);
    }
  }
}
