/**
 * The receiving end of `npm run bench -- network`, as a worker thread (workerData has the ports)
 * or as a child process (commands over IPC). It decodes every batch it receives with BatchReader,
 * reading every record, and answers each command with the records it read once the sender ended.
 *
 * Commands: { cmd: 'mux', channel } reads one channel of its mux (MessagePort mux in a worker,
 * TCP mux in a child, connected first with { cmd: 'connect', port });
 * { cmd: 'raw', batches } reads that many raw batches (MessagePort messages, or data frames on
 * the raw socket connected with { cmd: 'connect-raw', port }).
 */
import { connect } from 'node:net';
import { type MessagePort, isMainThread, workerData } from 'node:worker_threads';
import type { ChannelMux } from '../src/engine/network/channel-mux.ts';
import { FrameDecoder } from '../src/engine/network/frame.ts';
import { messagePortMux } from '../src/engine/network/message-port-mux.ts';
import { connectTcpMux } from '../src/engine/network/tcp-mux.ts';
import { BatchReader } from '../src/engine/runtime/element-codec.ts';

type Command = { cmd: 'mux'; channel: string } | { cmd: 'raw'; batches: number } | { cmd: 'connect'; port: number } | { cmd: 'connect-raw'; port: number };

const reader = new BatchReader();
let sink = 0;
function decode(batch: Uint8Array): number {
  reader.load(batch);
  let records = 0;
  while (reader.hasNext) {
    reader.read();
    sink += reader.keyGroup + (reader.timestamp ?? 0) + (typeof reader.value === 'string' ? reader.value.length : 0);
    records += 1;
  }
  return records;
}

let mux: ChannelMux | undefined;
/**
 * Raw batches may arrive before the command that announces them (another port, another
 * socket): they are counted as they come, and a 'raw' command waits for its share.
 */
let rawBatches = 0;
let rawRecords = 0;
let rawWaiter: (() => void) | undefined;
function onRaw(batch: Uint8Array): void {
  rawRecords += decode(batch);
  rawBatches += 1;
  rawWaiter?.();
}

async function readMux(channel: string): Promise<number> {
  const input = mux!.receiver(channel, Number(process.env.BENCH_CAPACITY ?? 8)); // mux: set by 'connect' or at start
  let records = 0;
  for (let b = await input.receive(); b !== null; b = await input.receive()) records += decode(b);
  return records;
}

async function readRaw(batches: number): Promise<number> {
  while (rawBatches < batches) await new Promise<void>((resolve) => (rawWaiter = resolve));
  rawWaiter = undefined;
  const records = rawRecords;
  rawBatches -= batches;
  rawRecords = 0;
  return records;
}

async function run(command: Command): Promise<{ records: number; sink: number } | { connected: true }> {
  switch (command.cmd) {
    case 'mux':
      return { records: await readMux(command.channel), sink };
    case 'raw':
      return { records: await readRaw(command.batches), sink };
    case 'connect':
      mux = await connectTcpMux({ host: '127.0.0.1', port: command.port, endpointId: 'bench-child' });
      return { connected: true };
    case 'connect-raw': {
      const socket = connect({ host: '127.0.0.1', port: command.port });
      socket.setNoDelay(true);
      const frames = new FrameDecoder();
      socket.on('data', (chunk: Buffer) => {
        for (const f of frames.push(chunk)) if (f.kind === 'data') onRaw(f.batch);
      });
      await new Promise((resolve) => socket.once('connect', resolve));
      return { connected: true };
    }
  }
}

if (isMainThread) {
  process.on('message', (command: Command) => void run(command).then((answer) => process.send!(answer)));
  process.on('disconnect', () => process.exit(0));
} else {
  const { mux: muxPort, raw, control } = workerData as { mux: MessagePort; raw: MessagePort; control: MessagePort };
  mux = messagePortMux(muxPort, 'bench main thread');
  raw.on('message', (b: Uint8Array) => onRaw(b));
  control.on('message', (command: Command) => void run(command).then((answer) => control.postMessage(answer)));
}
