/**
 * `npm run bench -- network`: records/s of 512-record batches (BatchBuilder, the engine's
 * element codec: string keys routed by key, with timestamps) encoded on the sending side and
 * decoded, every record read, on the receiving side, through:
 *
 *   - LocalChannel, both ends in this thread (the in-process baseline);
 *   - the MessagePort mux to a worker thread, beside raw `postMessage` of the same batches over a
 *     plain MessagePort (no credits, no frames);
 *   - the TCP mux to a child process over loopback, beside raw socket writes of the same DATA
 *     frames (no credits, no handshake, waiting only for 'drain').
 *
 * The cases run interleaved, BENCH_REPS times after a warm-up; the worker and the child are
 * started once. Ratios are of the same run. Environment: BENCH_BATCHES (per run, default 2000 =
 * 1.02M records), BENCH_REPS (default 5), BENCH_CAPACITY (the receivers' credits, default 8: 32
 * changes little, so the mux is not limited by its window).
 */
import { fork } from 'node:child_process';
import { once } from 'node:events';
import { type Socket, createServer } from 'node:net';
import { loadavg } from 'node:os';
import { performance } from 'node:perf_hooks';
import { MessageChannel, Worker } from 'node:worker_threads';
import { messagePortMux } from '../src/engine/network/message-port-mux.ts';
import { encodeFrame } from '../src/engine/network/frame.ts';
import { listenTcpMux } from '../src/engine/network/tcp-mux.ts';
import type { ChannelMux } from '../src/engine/network/channel-mux.ts';
import { LocalChannel } from '../src/engine/runtime/channel.ts';
import { BatchBuilder, BatchReader } from '../src/engine/runtime/element-codec.ts';
import { BATCH_ELEMENTS } from '../src/engine/runtime/record-writer.ts';
import { fmix32 } from '../src/format/murmur3.ts';
import { bold, count, interleave, num, range, ratios, table } from './stats.ts';

const BATCHES = Number(process.env.BENCH_BATCHES ?? 2000);
const REPS = Number(process.env.BENCH_REPS ?? 5);
const RECORDS = BATCHES * BATCH_ELEMENTS;
const REGISTER_LOADERS = new URL('../bin/register-loaders.js', import.meta.url).pathname;
const PEER = new URL('./network-peer.ts', import.meta.url);

const builder = new BatchBuilder();
let nextRecord = 0;
/** The next batch: 512 records `k<0..100k>` with key groups and timestamps, encoded now. */
function nextBatch(): Uint8Array {
  for (let i = 0; i < BATCH_ELEMENTS; i++) {
    const h = fmix32(nextRecord++);
    builder.addRecord(`k${h % 100_000}`, 1_700_000_000_000 + nextRecord, h % 128);
  }
  return builder.encode();
}

type Answer = { records: number; sink: number } | { connected: true };

function check(answer: Answer): void {
  if (!('records' in answer) || answer.records !== RECORDS) throw new Error(`the receiver read ${JSON.stringify(answer)}, not ${RECORDS} records`);
}

async function local(): Promise<number> {
  const channel = new LocalChannel(8);
  const reader = new BatchReader();
  const start = performance.now();
  const consuming = (async () => {
    let records = 0;
    for (let b = await channel.receive(); b !== null; b = await channel.receive()) {
      reader.load(b);
      while (reader.hasNext) {
        reader.read();
        records += 1;
      }
    }
    return records;
  })();
  for (let i = 0; i < BATCHES; i++) await channel.send(nextBatch());
  channel.close();
  const records = await consuming;
  if (records !== RECORDS) throw new Error(`LocalChannel delivered ${records} records`);
  return (performance.now() - start) / 1000;
}

export async function run(): Promise<void> {
  // The worker thread: a mux port, a raw port, and a control port.
  const muxPorts = new MessageChannel();
  const rawPorts = new MessageChannel();
  const controlPorts = new MessageChannel();
  const worker = new Worker(PEER, {
    execArgv: ['--import', REGISTER_LOADERS],
    workerData: { mux: muxPorts.port2, raw: rawPorts.port2, control: controlPorts.port2 },
    transferList: [muxPorts.port2, rawPorts.port2, controlPorts.port2],
  });
  const workerMux = messagePortMux(muxPorts.port1, 'bench worker');
  const askWorker = async (command: object): Promise<Answer> => {
    const answer = once(controlPorts.port1, 'message') as Promise<[Answer]>;
    controlPorts.port1.postMessage(command);
    return (await answer)[0];
  };

  // The child process: connects to our TCP mux and to a raw socket server.
  const child = fork(PEER, [], { execArgv: ['--import', REGISTER_LOADERS], stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
  const askChild = async (command: object): Promise<Answer> => {
    const answer = once(child, 'message') as Promise<[Answer]>;
    child.send(command);
    return (await answer)[0];
  };
  let childMux: ChannelMux | undefined;
  const tcp = await listenTcpMux({ endpointId: 'bench-main', onPeer: (mux) => (childMux = mux) });
  let rawSocket: Socket | undefined;
  const rawServer = createServer((s) => {
    s.setNoDelay(true);
    rawSocket = s;
  });
  rawServer.listen(0, '127.0.0.1');
  await once(rawServer, 'listening');
  await askChild({ cmd: 'connect', port: tcp.port });
  await askChild({ cmd: 'connect-raw', port: (rawServer.address() as { port: number }).port });
  while (childMux === undefined || rawSocket === undefined) await new Promise((r) => setTimeout(r, 5));

  let rep = 0;
  const viaMux = async (mux: ChannelMux, ask: (c: object) => Promise<Answer>): Promise<number> => {
    const channel = `bench/${rep++}/0`;
    const start = performance.now();
    const answer = ask({ cmd: 'mux', channel });
    const out = mux.sender(channel);
    for (let i = 0; i < BATCHES; i++) await out.send(nextBatch());
    out.close();
    check(await answer);
    return (performance.now() - start) / 1000;
  };

  const samples = await interleave(
    {
      local,
      'worker, raw port': async () => {
        const start = performance.now();
        const answer = askWorker({ cmd: 'raw', batches: BATCHES });
        for (let i = 0; i < BATCHES; i++) rawPorts.port1.postMessage(nextBatch());
        check(await answer);
        return (performance.now() - start) / 1000;
      },
      'worker, mux': () => viaMux(workerMux, askWorker),
      'tcp, raw socket': async () => {
        const socket = rawSocket!;
        const start = performance.now();
        const answer = askChild({ cmd: 'raw', batches: BATCHES });
        for (let i = 0; i < BATCHES; i++) {
          let ok = true;
          for (const b of encodeFrame({ kind: 'data', channel: 'raw', batch: nextBatch() })) ok = socket.write(b);
          if (!ok) await once(socket, 'drain');
        }
        check(await answer);
        return (performance.now() - start) / 1000;
      },
      'tcp, mux': () => viaMux(childMux!, askChild),
    },
    { reps: REPS },
  );

  workerMux.close();
  childMux.close();
  rawSocket.destroy();
  await tcp.close();
  rawServer.close();
  child.disconnect();
  await worker.terminate();

  const rate = (s: number[]): string => {
    const r = range(s.map((x) => RECORDS / x));
    return `${count(r.median)}/s (${count(r.min)}-${count(r.max)})`;
  };
  const ratio = (a: number[], b: number[]): string => {
    // Throughput ratio: b's seconds over a's.
    const r = range(ratios(b, a));
    return `${num(r.median)} (${num(r.min)}-${num(r.max)})`;
  };
  console.log(bold(`network: ${count(RECORDS)} records per run in 512-record batches, ${REPS} runs, load average ${loadavg().map((l) => l.toFixed(1)).join(' ')}`));
  console.log(
    table([
      ['path', 'records/s (median, range)', 'vs its raw baseline', 'vs LocalChannel'],
      ['LocalChannel, one thread', rate(samples.local), '', '1'],
      ['raw MessagePort to a worker', rate(samples['worker, raw port']), '1', ratio(samples['worker, raw port'], samples.local)],
      ['MessagePort mux to a worker', rate(samples['worker, mux']), ratio(samples['worker, mux'], samples['worker, raw port']), ratio(samples['worker, mux'], samples.local)],
      ['raw socket to a child process', rate(samples['tcp, raw socket']), '1', ratio(samples['tcp, raw socket'], samples.local)],
      ['TCP mux to a child process', rate(samples['tcp, mux']), ratio(samples['tcp, mux'], samples['tcp, raw socket']), ratio(samples['tcp, mux'], samples.local)],
    ]),
  );
}
