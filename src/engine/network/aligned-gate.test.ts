/**
 * The case credit-based flow control per channel exists for: an input gate aligning barriers
 * (exactly-once) stops reading the channel that delivered barrier 1 while it reads the others
 * up to theirs. Both channels share one link here, and the blocked one has far more batches
 * behind its barrier than its capacity: the other must still flow, over a MessagePort and over
 * TCP, and the checkpoint must hold exactly the records sent before the barriers.
 */
import { MessageChannel } from 'node:worker_threads';
import { describe, expect, it } from 'vitest';
import { createBarrierHandler } from '../runtime/barrier-handler.ts';
import type { ChannelSender } from '../runtime/channel.ts';
import { encodeBatch } from '../runtime/element-codec.ts';
import { InputGate } from '../runtime/input-gate.ts';
import type { StreamElement } from '../runtime/stream-element.ts';
import type { ChannelMux } from './channel-mux.ts';
import { messagePortMux } from './message-port-mux.ts';
import { connectTcpMux, listenTcpMux } from './tcp-mux.ts';

const BATCHES_BEHIND = 40;
const CAPACITY = 2;

const records = (c: number, from: number, n: number): StreamElement[] => Array.from({ length: n }, (_, i) => ({ kind: 'record', value: `${c}:${from + i}`, timestamp: null }));
const barrier: StreamElement = { kind: 'barrier', barrier: { checkpointId: 1, savepoint: false } };

async function sendAll(out: ChannelSender, batches: StreamElement[][]): Promise<void> {
  for (const b of batches) await out.send(encodeBatch(b));
  out.close();
}

async function alignOver(sendSide: ChannelMux, receiveSide: ChannelMux): Promise<void> {
  const inputs = [receiveSide.receiver('e/0/0', CAPACITY), receiveSide.receiver('e/1/0', CAPACITY)];
  // Channel 0: barrier first, then many batches the gate must not read until channel 1's barrier.
  const early = [[barrier], ...Array.from({ length: BATCHES_BEHIND }, (_, b) => records(0, b * 10, 10)), [{ kind: 'end-of-input' } as StreamElement]];
  // Channel 1: many batches before its barrier.
  const late = [...Array.from({ length: BATCHES_BEHIND }, (_, b) => records(1, b * 10, 10)), [barrier], [{ kind: 'end-of-input' } as StreamElement]];
  const sending = Promise.all([sendAll(sendSide.sender('e/0/0'), early), sendAll(sendSide.sender('e/1/0'), late)]);
  const gate = new InputGate(inputs, createBarrierHandler('EXACTLY_ONCE', 2));
  const seen: string[] = [];
  let atCheckpoint: string[] | undefined;
  for (let event = await gate.next(); event.kind !== 'end'; event = await gate.next()) {
    if (event.kind === 'record') seen.push(event.value as string);
    if (event.kind === 'checkpoint') atCheckpoint = [...seen];
  }
  await sending;
  expect(atCheckpoint).toEqual(records(1, 0, BATCHES_BEHIND * 10).map((r) => (r as { value: string }).value));
  expect(seen.filter((v) => v.startsWith('0:'))).toEqual(records(0, 0, BATCHES_BEHIND * 10).map((r) => (r as { value: string }).value));
  expect(seen.length).toBe(2 * BATCHES_BEHIND * 10);
}

describe('barrier alignment over one link', () => {
  it('over a MessagePort: the blocked channel does not stall the other', async () => {
    const { port1, port2 } = new MessageChannel();
    const a = messagePortMux(port1, 'a');
    const b = messagePortMux(port2, 'b');
    try {
      await alignOver(a, b);
    } finally {
      a.close();
      b.close();
    }
  });

  it('over TCP: the blocked channel does not stall the other', async () => {
    let accepted: ChannelMux | undefined;
    const server = await listenTcpMux({ endpointId: 'downstream', onPeer: (mux) => (accepted = mux) });
    const client = await connectTcpMux({ host: '127.0.0.1', port: server.port, endpointId: 'upstream' });
    try {
      while (accepted === undefined) await new Promise((r) => setTimeout(r, 5));
      await alignOver(client, accepted);
    } finally {
      client.close();
      await server.close();
    }
  });
});
