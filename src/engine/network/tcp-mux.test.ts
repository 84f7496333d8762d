import { type ChildProcess, fork } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { once } from 'node:events';
import { type AddressInfo, connect, createServer } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { type ChannelMux, ChannelClosedError } from './channel-mux.ts';
import { type Frame, FrameDecoder, NONCE_BYTES, PROTOCOL_VERSION, encodeFrame } from './frame.ts';
import { BatchBuilder, decodeBatch } from '../runtime/element-codec.ts';
import type { StreamElement } from '../runtime/stream-element.ts';
import { connectTcpMux, listenTcpMux, type TcpMuxServer } from './tcp-mux.ts';

const REGISTER_LOADERS = new URL('../../../bin/register-loaders.js', import.meta.url).pathname;
const PEER = new URL('../../../test/support/network-peer.ts', import.meta.url).pathname;

const cleanup: (() => unknown)[] = [];
afterEach(async () => {
  for (const c of cleanup.splice(0).reverse()) await c();
});

/** A server whose accepted peers arrive through `nextPeer`, and whose log lines are kept. */
async function server(options: { secret?: string; heartbeatTimeoutMs?: number } = {}): Promise<{ server: TcpMuxServer; nextPeer: () => Promise<{ mux: ChannelMux; id: string }>; log: string[] }> {
  const peers: { mux: ChannelMux; id: string }[] = [];
  const waiting: ((p: { mux: ChannelMux; id: string }) => void)[] = [];
  const log: string[] = [];
  const s = await listenTcpMux({
    endpointId: 'server',
    ...options,
    log: (line) => log.push(line),
    onPeer: (mux, id) => {
      const w = waiting.shift();
      if (w === undefined) peers.push({ mux, id });
      else w({ mux, id });
    },
  });
  cleanup.push(() => s.close());
  const nextPeer = (): Promise<{ mux: ChannelMux; id: string }> => {
    const p = peers.shift();
    return p !== undefined ? Promise.resolve(p) : new Promise((resolve) => waiting.push(resolve));
  };
  return { server: s, nextPeer, log };
}

function startPeer(port: number, count: number | 'forever', env: Record<string, string> = {}): ChildProcess {
  const child = fork(PEER, ['127.0.0.1', String(port), 'send', String(count)], { execArgv: ['--import', REGISTER_LOADERS], env: { ...process.env, ...env }, stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
  cleanup.push(() => {
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
  });
  return child;
}

const numberOf = (b: Uint8Array): number => new DataView(b.buffer, b.byteOffset, b.byteLength).getUint32(0, true);

describe('TCP mux between processes', () => {
  it('carries every batch from a child process in order, intact, then the end', async () => {
    const { server: s, nextPeer } = await server();
    startPeer(s.port, 500);
    const { mux, id } = await nextPeer();
    expect(id).toBe('child');
    const input = mux.receiver('c', 4);
    const got: number[] = [];
    for (let b = await input.receive(); b !== null; b = await input.receive()) {
      expect(b.length).toBe(1024);
      expect(b[1023]).toBe(numberOf(b) & 0xff);
      got.push(numberOf(b));
    }
    expect(got).toEqual(Array.from({ length: 500 }, (_, i) => i));
    mux.close();
  });

  it('a peer process killed mid-stream fails the pending receive promptly, naming the peer', async () => {
    const { server: s, nextPeer } = await server();
    const child = startPeer(s.port, 'forever');
    const { mux } = await nextPeer();
    const input = mux.receiver('c', 2);
    for (let i = 0; i < 50; i++) expect(numberOf((await input.receive())!)).toBe(i);
    while (true) {
      // Drain what is queued, then one receive stays pending across the kill.
      const pending = input.receive().catch((err: unknown) => err);
      child.kill('SIGKILL');
      const result = await pending;
      if (result instanceof Uint8Array) continue;
      expect(result).toBeInstanceOf(ChannelClosedError);
      // From the socket, at once: not the heartbeat timeout (10 s here).
      expect((result as Error).message).toMatch(/^the link to child at 127\.0\.0\.1:\d+ was lost: (the peer closed the connection|E[A-Z]+: .*)$/);
      break;
    }
    await expect(input.receive()).rejects.toThrow(/child at 127\.0\.0\.1/);
  });

  it('a peer that stops answering (half-open) is lost after the heartbeat timeout', async () => {
    const { server: s, nextPeer } = await server({ heartbeatTimeoutMs: 1000 });
    const child = startPeer(s.port, 'forever', { TSFLINK_TEST_HEARTBEAT_MS: '1000' });
    const { mux } = await nextPeer();
    const input = mux.receiver('c', 2);
    expect(numberOf((await input.receive())!)).toBe(0);
    child.kill('SIGSTOP'); // the socket stays open, but nothing comes: a partition
    cleanup.push(() => child.kill('SIGCONT'));
    let err: unknown;
    while (err === undefined) {
      err = await input.receive().then(() => undefined, (e: unknown) => e);
    }
    expect((err as Error).message).toMatch(/^the link to child at 127\.0\.0\.1:\d+ was lost: no frame or heartbeat for \d+ ms \(heartbeat timeout 1000 ms\)$/);
  });

  it('a sender on the server side of the connection reaches a receiver on the client side', async () => {
    const { server: s, nextPeer } = await server({ secret: 's3cret' });
    const client = await connectTcpMux({ host: '127.0.0.1', port: s.port, endpointId: 'tm-2', secret: 's3cret' });
    cleanup.push(() => client.close());
    const { mux, id } = await nextPeer();
    expect(id).toBe('tm-2');
    const out = mux.sender('back');
    const input = client.receiver('back', 1);
    await out.send(new Uint8Array([9]));
    const second = out.send(new Uint8Array([10]));
    expect([...(await input.receive())!]).toEqual([9]);
    await second;
    out.close();
    expect([...(await input.receive())!]).toEqual([10]);
    expect(await input.receive()).toBeNull();
  });
});

describe('TCP mux connections', () => {
  it('a peer that connects again under the same id replaces its old link, which fails', async () => {
    const { server: s, nextPeer, log } = await server();
    const first = await connectTcpMux({ host: '127.0.0.1', port: s.port, endpointId: 'tm-9' });
    cleanup.push(() => first.close());
    const old = await nextPeer();
    const oldInput = old.mux.receiver('c');
    const pending = oldInput.receive().catch((err: unknown) => err);
    const second = await connectTcpMux({ host: '127.0.0.1', port: s.port, endpointId: 'tm-9' });
    cleanup.push(() => second.close());
    const fresh = await nextPeer();
    expect(fresh.id).toBe('tm-9');
    expect(((await pending) as Error).message).toMatch(/^the link to tm-9 at 127\.0\.0\.1:\d+ was lost: tm-9 connected again$/);
    expect(log).toEqual([expect.stringMatching(/^Network peer tm-9 connected again from 127\.0\.0\.1:\d+; its previous link is closed$/)]);
    // The old client's end learns it too: its link closes.
    expect((await first.closed).message).toMatch(/^the link to server at 127\.0\.0\.1:\d+ was (lost|closed by the peer)/);
    const out = second.sender('c2');
    const input = fresh.mux.receiver('c2', 1);
    await out.send(new Uint8Array([5]));
    expect([...(await input.receive())!]).toEqual([5]);
  });

  it('closing the server fails the channels of every peer on both ends', async () => {
    const { server: s, nextPeer } = await server();
    const client = await connectTcpMux({ host: '127.0.0.1', port: s.port, endpointId: 'tm-3' });
    cleanup.push(() => client.close());
    const { mux } = await nextPeer();
    const serverSide = mux.receiver('a').receive().catch((err: unknown) => err);
    const clientSide = client.receiver('b').receive().catch((err: unknown) => err);
    await s.close();
    expect(((await serverSide) as Error).message).toMatch(/^the link to tm-3 at 127\.0\.0\.1:\d+ was closed$/);
    expect(((await clientSide) as Error).message).toMatch(/^the link to server at 127\.0\.0\.1:\d+ was closed by the peer \(closed\)$/);
  });
});

describe('TCP mux with the element codec', () => {
  it('batches of every element kind decode exactly as sent, across socket chunk boundaries', async () => {
    const { server: s, nextPeer } = await server();
    const client = await connectTcpMux({ host: '127.0.0.1', port: s.port, endpointId: 'tm-codec' });
    cleanup.push(() => client.close());
    const { mux } = await nextPeer();
    const builder = new BatchBuilder();
    const batches: StreamElement[][] = [];
    for (let b = 0; b < 200; b++) {
      const elements: StreamElement[] = [];
      for (let i = 0; i < 1 + ((b * 37) % 600); i++) {
        const n = b * 1000 + i;
        const value = n % 3 === 0 ? `k${n}` : n % 3 === 1 ? { user: `u${n % 7}`, amount: n / 4, tags: ['a', n] } : n;
        elements.push({ kind: 'record', value, timestamp: n % 5 === 0 ? null : 1_700_000_000_000 + n });
      }
      elements.push({ kind: 'watermark', timestamp: b * 10 }, { kind: 'barrier', barrier: { checkpointId: b, savepoint: b % 2 === 0 } });
      batches.push(elements);
    }
    const out = client.sender('codec');
    const input = mux.receiver('codec', 3);
    const sending = (async () => {
      for (const elements of batches) {
        for (const e of elements) builder.add(e);
        await out.send(builder.encode());
      }
      out.close();
    })();
    const got: StreamElement[][] = [];
    for (let b = await input.receive(); b !== null; b = await input.receive()) got.push(decodeBatch(b));
    await sending;
    expect(got).toEqual(batches);
  });
});

describe('TCP mux security', () => {
  it('refuses a peer with the wrong secret, on both ends, with a log line on the server', async () => {
    const { server: s, log } = await server({ secret: 'right' });
    await expect(connectTcpMux({ host: '127.0.0.1', port: s.port, endpointId: 'intruder', secret: 'wrong' })).rejects.toThrow(
      /^the peer's proof does not match: security\.network\.shared-secret differs between the two ends$/,
    );
    // The client checked the server's proof first and refused it; the server logs that.
    await expect.poll(() => log).toEqual([
      expect.stringMatching(/^Network peer intruder at 127\.0\.0\.1:\d+ refused this endpoint: the peer's proof does not match: security\.network\.shared-secret differs between the two ends$/),
    ]);
  });

  it('refuses a peer without the secret, saying which key is missing', async () => {
    const { server: s, log } = await server({ secret: 'right' });
    await expect(connectTcpMux({ host: '127.0.0.1', port: s.port, endpointId: 'plain' })).rejects.toThrow(
      /^peer at 127\.0\.0\.1:\d+ refused this endpoint: this endpoint requires the shared secret \(security\.network\.shared-secret\) and the peer has none$/,
    );
    await expect.poll(() => log).toEqual([expect.stringMatching(/^Refused network peer plain at 127\.0\.0\.1:\d+: this endpoint requires the shared secret/)]);
  });

  it('refuses a client whose proof is wrong (checked by the server too), and garbage, and still serves others', async () => {
    const { server: s, nextPeer, log } = await server({ secret: 'right' });
    const socket = connect({ host: '127.0.0.1', port: s.port });
    cleanup.push(() => socket.destroy());
    const decoder = new FrameDecoder();
    const frames: Frame[] = [];
    socket.on('data', (chunk: Buffer) => frames.push(...decoder.push(chunk)));
    const write = (f: Frame): void => void socket.write(Buffer.concat(encodeFrame(f)));
    write({ kind: 'hello', version: PROTOCOL_VERSION, hasSecret: true, nonce: randomBytes(NONCE_BYTES), endpoint: 'liar' });
    await expect.poll(() => frames.map((f) => f.kind)).toEqual(['challenge']);
    write({ kind: 'proof', proof: randomBytes(NONCE_BYTES) });
    await expect.poll(() => frames.map((f) => f.kind)).toEqual(['challenge', 'refused']);
    expect(frames[1]).toEqual({ kind: 'refused', reason: "the peer's proof does not match: security.network.shared-secret differs between the two ends" });

    const http = connect({ host: '127.0.0.1', port: s.port });
    cleanup.push(() => http.destroy());
    http.write('GET / HTTP/1.1\r\nHost: x\r\n\r\n');
    await expect.poll(() => log.length).toBe(2);
    expect(log).toEqual([
      expect.stringMatching(/^Refused network peer liar at 127\.0\.0\.1:\d+: the peer's proof does not match/),
      expect.stringMatching(/^Network handshake with peer at 127\.0\.0\.1:\d+ failed: .*protocol error: frame length \d+ is out of range/),
    ]);
    const client = await connectTcpMux({ host: '127.0.0.1', port: s.port, endpointId: 'honest', secret: 'right' });
    cleanup.push(() => client.close());
    expect((await nextPeer()).id).toBe('honest');
  });

  it('heartbeats from the server during the handshake do not fail it', async () => {
    const raw = createServer((socket) => {
      socket.resume(); // reads (and drops) the client's frames, so its close is seen
      socket.write(Buffer.concat(encodeFrame({ kind: 'heartbeat' })));
      setTimeout(() => socket.write(Buffer.concat([...encodeFrame({ kind: 'heartbeat' }), ...encodeFrame({ kind: 'welcome', endpoint: 'slow' })])), 50);
    });
    raw.listen(0, '127.0.0.1');
    await once(raw, 'listening');
    cleanup.push(() => new Promise((resolve) => raw.close(resolve)));
    const client = await connectTcpMux({ host: '127.0.0.1', port: (raw.address() as AddressInfo).port, endpointId: 'patient' });
    cleanup.push(() => client.close());
    expect(client.receiver('x')).toBeDefined();
  });

  it('a client with a secret refuses a server without one', async () => {
    const { server: s } = await server();
    await expect(connectTcpMux({ host: '127.0.0.1', port: s.port, endpointId: 'careful', secret: 'x' })).rejects.toThrow(/refused this endpoint: the peer has a shared secret but this endpoint has none/);
  });

  it('refuses to bind to a non-loopback address without a secret, naming the key', async () => {
    await expect(listenTcpMux({ host: '0.0.0.0', endpointId: 'tm', onPeer: () => undefined })).rejects.toThrow(
      /^refusing to bind the data port to 0\.0\.0\.0 without a shared secret: set security\.network\.shared-secret on every TaskManager, or bind to 127\.0\.0\.1 \(taskmanager\.bind-host\)$/,
    );
  });
});
