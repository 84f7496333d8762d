/**
 * A worker thread for the network tests: takes a MessagePort from workerData and echoes every
 * batch of channel 'to-worker' back on channel 'from-worker', then ends that channel.
 */
import { type MessagePort, workerData } from 'node:worker_threads';
import { messagePortMux } from '../../src/engine/network/message-port-mux.ts';

const { port, capacity } = workerData as { port: MessagePort; capacity: number };
const mux = messagePortMux(port, 'main thread');
const input = mux.receiver('to-worker', capacity);
const output = mux.sender('from-worker');
for (let batch = await input.receive(); batch !== null; batch = await input.receive()) await output.send(batch);
output.close();
