import { MessageChannel, Worker } from 'node:worker_threads';
import { afterEach, describe, expect, it } from 'vitest';
import { ChannelClosedError } from './channel-mux.ts';
import { messagePortMux } from './message-port-mux.ts';

const REGISTER_LOADERS = new URL('../../../bin/register-loaders.js', import.meta.url).pathname;
const ECHO_WORKER = new URL('../../../test/support/network-worker.ts', import.meta.url);

const workers: Worker[] = [];
afterEach(async () => {
  await Promise.all(workers.splice(0).map((w) => w.terminate()));
});

function startEchoWorker(capacity: number): { mux: ReturnType<typeof messagePortMux>; worker: Worker } {
  const { port1, port2 } = new MessageChannel();
  const worker = new Worker(ECHO_WORKER, { execArgv: ['--import', REGISTER_LOADERS], workerData: { port: port2, capacity }, transferList: [port2] });
  workers.push(worker);
  return { mux: messagePortMux(port1, 'echo worker'), worker };
}

describe('messagePortMux between worker threads', () => {
  it('carries batches to a worker thread and back, in order and intact', async () => {
    const { mux } = startEchoWorker(4);
    const out = mux.sender('to-worker');
    const back = mux.receiver('from-worker', 4);
    const n = 3000;
    const expected = Array.from({ length: n }, (_, i) => new Uint8Array(Array.from({ length: 1 + (i % 97) }, (_, j) => (i * 31 + j) & 0xff)));
    const sending = (async () => {
      for (const b of expected) await out.send(b);
      out.close();
    })();
    const got: Uint8Array[] = [];
    for (let b = await back.receive(); b !== null; b = await back.receive()) got.push(b);
    await sending;
    expect(got).toEqual(expected);
    mux.close();
  });

  it('a worker that is terminated mid-stream fails pending and later calls, naming the link', async () => {
    const { mux, worker } = startEchoWorker(2);
    const out = mux.sender('to-worker');
    const back = mux.receiver('from-worker', 2);
    await out.send(new Uint8Array([1]));
    expect(await back.receive()).toEqual(new Uint8Array([1]));
    const pending = back.receive().catch((err: unknown) => err);
    await worker.terminate();
    const err = await pending;
    expect(err).toBeInstanceOf(ChannelClosedError);
    expect((err as Error).message).toMatch(/link to echo worker \(MessagePort\) was lost: the port was closed/);
    await expect(out.send(new Uint8Array([2]))).rejects.toThrow(/echo worker/);
  });
});
