/**
 * A peer process for the TCP network tests: connects to a data port as endpoint `child` and sends
 * numbered batches on channel 'c' (`send <count>`, or forever with `send forever`), telling the
 * parent over IPC how many went out. The secret comes from TSFLINK_TEST_SECRET.
 *
 *   network-peer.ts <host> <port> send <count|forever>
 */
import { connectTcpMux } from '../../src/engine/network/tcp-mux.ts';

const [host, port, mode, count] = process.argv.slice(2);
if (host === undefined || port === undefined || mode !== 'send' || count === undefined) throw new Error('usage: network-peer.ts <host> <port> send <count|forever>');
const mux = await connectTcpMux({ host, port: Number(port), endpointId: 'child', secret: process.env.TSFLINK_TEST_SECRET, heartbeatTimeoutMs: Number(process.env.TSFLINK_TEST_HEARTBEAT_MS ?? 10_000) });
const out = mux.sender('c');
const limit = count === 'forever' ? Infinity : Number(count);
for (let i = 0; i < limit; i++) {
  const batch = new Uint8Array(1024);
  new DataView(batch.buffer).setUint32(0, i, true);
  batch.fill(i & 0xff, 4);
  await out.send(batch);
  if (i % 16 === 0) process.send?.({ sent: i + 1 });
}
out.close();
process.send?.({ done: limit });
// Wait for the parent to close the link, so the end frame is not raced by the process exit.
await mux.closed;
process.disconnect?.();
