import { MessageChannel } from 'node:worker_threads';
import fc from 'fast-check';
import { afterEach, describe, expect, it } from 'vitest';
import { type ChannelMux, ChannelClosedError, CreditMux } from './channel-mux.ts';
import type { Frame } from './frame.ts';
import type { FrameLink, LinkHandlers } from './link.ts';
import { messagePortMux } from './message-port-mux.ts';

/** Both ends of a real MessageChannel in this thread (the worker-thread case is in message-port-mux.test.ts). */
function pair(): { a: CreditMux; b: CreditMux } {
  const { port1, port2 } = new MessageChannel();
  return { a: messagePortMux(port1, 'a'), b: messagePortMux(port2, 'b') };
}

const open: CreditMux[] = [];
function tracked(): { a: CreditMux; b: CreditMux } {
  const p = pair();
  open.push(p.a, p.b);
  return p;
}
afterEach(() => {
  for (const m of open.splice(0)) m.close();
});

const batch = (n: number): Uint8Array => new Uint8Array([n & 0xff, (n >> 8) & 0xff, (n >> 16) & 0xff]);
const number = (b: Uint8Array | null): number => (b === null ? -1 : b[0]! | (b[1]! << 8) | (b[2]! << 16));

/** Settles `p` if it settles within a few turns of the event loop (the frames' round trips), else 'pending'. */
async function state<T>(p: Promise<T>): Promise<T | 'pending'> {
  let done: { v: T } | undefined;
  void p.then((v) => (done = { v }), () => undefined);
  for (let i = 0; i < 20 && done === undefined; i++) await new Promise((r) => setImmediate(r));
  return done === undefined ? 'pending' : done.v;
}

/** An in-order link whose frames wait until the test delivers them, one by one. */
class HeldLink implements FrameLink {
  readonly held: Frame[] = [];
  handlers: LinkHandlers | undefined;
  other: HeldLink | undefined;
  constructor(readonly peer: string) {}
  start(h: LinkHandlers): void {
    this.handlers = h;
  }
  send(frame: Frame): void {
    this.held.push(frame);
  }
  close(): void {}
  /** Delivers this end's oldest frame to the other end. */
  deliverOne(): boolean {
    const f = this.held.shift();
    if (f !== undefined) this.other!.handlers!.frame(f);
    return f !== undefined;
  }
}

describe('ChannelMux over a MessageChannel', () => {
  it('delivers many batches in order, with their content, then null after close', async () => {
    const { a, b } = tracked();
    const out = a.sender('e/0/0');
    const inp = b.receiver('e/0/0', 4);
    const n = 2000;
    const sending = (async () => {
      for (let i = 0; i < n; i++) await out.send(batch(i));
      out.close();
    })();
    const got: number[] = [];
    for (let x = await inp.receive(); x !== null; x = await inp.receive()) got.push(number(x));
    await sending;
    expect(got).toEqual(Array.from({ length: n }, (_, i) => i));
    expect(await inp.receive()).toBeNull();
  });

  it("backpressure: with capacity c the (c+1)th send waits until the consumer takes one out", async () => {
    const { a, b } = tracked();
    const c = 3;
    const inp = b.receiver('ch', c);
    const out = a.sender('ch');
    for (let i = 0; i < c; i++) expect(await state(out.send(batch(i)))).toBeUndefined();
    const extra = out.send(batch(c));
    expect(await state(extra)).toBe('pending');
    expect(number(await inp.receive())).toBe(0);
    expect(await state(extra)).toBeUndefined();
    // The credit came back for exactly one batch.
    expect(await state(out.send(batch(c + 1)))).toBe('pending');
  });

  it('a blocked channel does not stall another channel on the same link (barrier alignment)', async () => {
    const { a, b } = tracked();
    const blockedIn = b.receiver('edge/0/0', 2);
    const liveIn = b.receiver('edge/1/0', 2);
    const blockedOut = a.sender('edge/0/0');
    const liveOut = a.sender('edge/1/0');
    await blockedOut.send(batch(1));
    await blockedOut.send(batch(2));
    const stuck = blockedOut.send(batch(3)); // the gate does not read edge/0/0 while aligning
    for (let i = 0; i < 100; i++) {
      await liveOut.send(batch(i));
      expect(number(await liveIn.receive())).toBe(i);
    }
    expect(await state(stuck)).toBe('pending');
    // Alignment done: the blocked channel is read again and delivers in order.
    expect([number(await blockedIn.receive()), number(await blockedIn.receive()), number(await blockedIn.receive())]).toEqual([1, 2, 3]);
    await stuck;
  });

  it('a sender made before the receiver has no credit until the receiver announces it', async () => {
    const { a, b } = tracked();
    const out = a.sender('late');
    const first = out.send(batch(7));
    expect(await state(first)).toBe('pending');
    const inp = b.receiver('late', 1);
    await first;
    expect(number(await inp.receive())).toBe(7);
  });

  it('close: the receiver gets what was sent before it, then null; sends after close are dropped', async () => {
    const { a, b } = tracked();
    const out = a.sender('c');
    const inp = b.receiver('c', 8);
    await out.send(batch(1));
    await out.send(batch(2));
    out.close();
    await out.send(batch(3));
    expect([number(await inp.receive()), number(await inp.receive()), await inp.receive(), await inp.receive()]).toEqual([1, 2, null, null]);
  });

  it('closing the mux rejects pending sends and receives on both ends, naming the link', async () => {
    const { a, b } = tracked();
    const inp = b.receiver('x', 1);
    const out = a.sender('x');
    await out.send(batch(1));
    const waitingSend = out.send(batch(2));
    const otherIn = b.receiver('y');
    const waitingReceive = otherIn.receive();
    a.close();
    await expect(waitingSend).rejects.toThrow(ChannelClosedError);
    await expect(waitingSend).rejects.toThrow(/link to a \(MessagePort\) was closed/);
    await expect(waitingReceive).rejects.toThrow(/link to b \(MessagePort\) was closed by the peer/);
    await expect(out.send(batch(3))).rejects.toThrow(/link to a/);
    // A channel that had not ended fails at once, even with a batch queued.
    await expect(inp.receive()).rejects.toThrow(ChannelClosedError);
  });

  it('a channel that ended still delivers everything after the link closes', async () => {
    const { a, b } = tracked();
    const inp = b.receiver('done', 4);
    const out = a.sender('done');
    await out.send(batch(1));
    out.close();
    a.close();
    expect(await b.closed).toBeInstanceOf(ChannelClosedError);
    expect(number(await inp.receive())).toBe(1);
    expect(await inp.receive()).toBeNull();
  });

  it('property: any interleaving of sends, receives and credits delivers exactly the sent sequence per channel', async () => {
    const op = fc.oneof(
      fc.record({ kind: fc.constant('send' as const), channel: fc.nat(2) }),
      fc.record({ kind: fc.constant('receive' as const), channel: fc.nat(2) }),
      fc.record({ kind: fc.constant('turn' as const) }),
    );
    await fc.assert(
      fc.asyncProperty(fc.array(fc.integer({ min: 1, max: 4 }), { minLength: 3, maxLength: 3 }), fc.array(op, { maxLength: 60 }), fc.boolean(), async (capacities, ops, receiversFirst) => {
        const { a, b } = pair();
        try {
          const ids = ['e/0/0', 'e/1/0', 'f/0/1'];
          const receivers = receiversFirst ? ids.map((id, i) => b.receiver(id, capacities[i])) : [];
          const senders = ids.map((id) => a.sender(id));
          if (!receiversFirst) ids.forEach((id, i) => receivers.push(b.receiver(id, capacities[i])));
          const sent: number[][] = ids.map(() => []);
          const got: number[][] = ids.map(() => []);
          const sends: Promise<void>[] = [];
          const receives: Promise<void>[] = [];
          let next = 0;
          for (const o of ops) {
            if (o.kind === 'turn') await new Promise((r) => setImmediate(r));
            else if (o.kind === 'send') {
              const v = next++;
              sent[o.channel]!.push(v);
              sends.push(senders[o.channel]!.send(batch(v)));
            } else {
              receives.push(receivers[o.channel]!.receive().then((x) => void got[o.channel]!.push(number(x))));
            }
          }
          const drained = ids.map(async (_, i) => {
            for (let x = await receivers[i]!.receive(); x !== null; x = await receivers[i]!.receive()) got[i]!.push(number(x));
          });
          // Close only after every send went out, so none is dropped.
          await Promise.all(sends);
          for (const s of senders) s.close();
          await Promise.all([...receives, ...drained]);
          // Receives issued in the interleaving resolve in call order, so each channel's list is its sequence (-1: the end).
          expect(got.map((g) => g.filter((x) => x !== -1))).toEqual(sent);
        } finally {
          a.close();
          b.close();
        }
      }),
      { numRuns: 60 },
    );
  });

  it('property: with frames delivered one at a time in any interleaving, each channel delivers exactly its sent sequence and never overruns its credit', async () => {
    const op = fc.oneof(
      fc.record({ kind: fc.constant('send' as const), channel: fc.nat(2) }),
      fc.record({ kind: fc.constant('receive' as const), channel: fc.nat(2) }),
      fc.record({ kind: fc.constant('deliver' as const), from: fc.constantFrom('a' as const, 'b' as const) }),
      fc.record({ kind: fc.constant('open-receiver' as const), channel: fc.nat(2) }),
    );
    await fc.assert(
      fc.asyncProperty(fc.array(fc.integer({ min: 1, max: 3 }), { minLength: 3, maxLength: 3 }), fc.array(op, { maxLength: 120 }), async (capacities, ops) => {
        const la = new HeldLink('a');
        const lb = new HeldLink('b');
        la.other = lb;
        lb.other = la;
        const a = new CreditMux(la);
        const b = new CreditMux(lb);
        const ids = ['e/0/0', 'e/1/0', 'f/0/1'];
        const senders = ids.map((id) => a.sender(id));
        const receivers: (ReturnType<ChannelMux['receiver']> | undefined)[] = ids.map(() => undefined);
        const openReceiver = (i: number): ReturnType<ChannelMux['receiver']> => (receivers[i] ??= b.receiver(ids[i]!, capacities[i]));
        const sent: number[][] = ids.map(() => []);
        const got: number[][] = ids.map(() => []);
        const sends: Promise<void>[] = [];
        const receives: Promise<void>[] = [];
        let next = 0;
        const flush = async (): Promise<void> => {
          for (let i = 0; i < 3; i++) await Promise.resolve();
        };
        for (const o of ops) {
          if (o.kind === 'send') {
            const v = next++;
            sent[o.channel]!.push(v);
            sends.push(senders[o.channel]!.send(batch(v)));
          } else if (o.kind === 'receive') {
            const r = openReceiver(o.channel);
            receives.push(r.receive().then((x) => void got[o.channel]!.push(number(x))));
          } else if (o.kind === 'open-receiver') {
            openReceiver(o.channel);
          } else {
            (o.from === 'a' ? la : lb).deliverOne();
          }
          await flush();
          // Credit bounds what is in flight: never more batches than a receiver announced.
          expect(a.failure ?? b.failure).toBeUndefined();
        }
        // Drain: every receiver reads to the end while frames flow both ways.
        ids.forEach((_, i) => openReceiver(i));
        let closed = false;
        const drained = receivers.map(async (r, i) => {
          for (let x = await r!.receive(); x !== null; x = await r!.receive()) got[i]!.push(number(x));
        });
        // Close only once every send went out (a send still waiting for credit would be dropped).
        const allSent = Promise.all(sends).then(() => {
          for (const s of senders) s.close();
          closed = true;
        });
        for (let guard = 0; guard < 100_000 && !(closed && la.held.length === 0 && lb.held.length === 0); guard++) {
          // Nothing in flight: let deferred credit announcements (setImmediate) go out.
          if (!la.deliverOne() && !lb.deliverOne()) await new Promise((r) => setImmediate(r));
          await flush();
        }
        await allSent;
        await Promise.all([...receives, ...drained]);
        expect(a.failure ?? b.failure).toBeUndefined();
        expect(got.map((g) => g.filter((x) => x !== -1))).toEqual(sent);
      }),
      { numRuns: 200 },
    );
  });

  it('credits given back add up while the sender still has half its window, and come at once when it ran out', async () => {
    const la = new HeldLink('a');
    const lb = new HeldLink('b');
    la.other = lb;
    lb.other = la;
    const a = new CreditMux(la);
    const b = new CreditMux(lb);
    const input = b.receiver('c', 8);
    const out = a.sender('c');
    const creditFrames = (): Frame[] => lb.held.filter((f) => f.kind === 'credit');
    expect(creditFrames()).toEqual([{ kind: 'credit', channel: 'c', credits: 8 }]);
    lb.deliverOne();
    // A consumer that keeps up: one batch at a time, taken as soon as it arrives.
    const announced: [number, Frame][] = [];
    for (let i = 0; i < 20; i++) {
      await out.send(batch(i));
      la.deliverOne();
      expect(number(await input.receive())).toBe(i);
      for (const f of lb.held) announced.push([i, f]);
      while (lb.deliverOne());
    }
    // Announced when the window fell below 4 of 8: at the 5th, 10th, ... batch taken, 5 credits each.
    expect(announced).toEqual([4, 9, 14, 19].map((i) => [i, { kind: 'credit', channel: 'c', credits: 5 }]));
    // A sender that ran out gets its credit back with the first batch taken.
    for (let i = 0; i < 8; i++) void out.send(batch(100 + i));
    while (la.deliverOne());
    const waiting = out.send(batch(108));
    expect(number(await input.receive())).toBe(100);
    expect(lb.held).toEqual([{ kind: 'credit', channel: 'c', credits: 1 }]);
    lb.deliverOne();
    await waiting;
  });
});
