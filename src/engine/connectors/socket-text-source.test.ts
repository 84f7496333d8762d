/**
 * socketTextStream against a real local TCP server started by the test: records split on the
 * delimiter whatever the packets (a line, a delimiter and a UTF-8 character cut across writes),
 * the end of the connection ends the source (and the job), a refused connection fails the job in
 * one line, and the checks at job start: exactly-once checkpointing and parallelism above 1 are
 * refused, at-least-once checkpointing runs.
 */
import { type Server, type Socket, createServer } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { tempDir } from '../../../test/support/temp-dir.ts';
import { freePort } from '../../../test/support/test-cluster.ts';
import { StreamExecutionEnvironment } from '../api/environment.ts';
import { SocketTextSource } from './socket-text-source.ts';

let dir: Awaited<ReturnType<typeof tempDir>>;
beforeAll(async () => {
  dir = await tempDir('tsflink-socket-');
});
afterAll(async () => {
  await dir.remove();
});

/** Writes `chunk` and waits until the kernel has it, so the next write is another packet as far as the sender can make it. */
function send(socket: Socket, chunk: string | Buffer): Promise<void> {
  return new Promise((resolve, reject) => socket.write(chunk, (err) => (err ? reject(err) : setImmediate(resolve))));
}

/** A server on a free port that runs `talk` with each connection, then closes it. */
async function serve(talk: (socket: Socket) => Promise<void>): Promise<{ server: Server; port: number; connections: () => number }> {
  let connections = 0;
  const server = createServer((socket) => {
    connections++;
    socket.setNoDelay(true);
    void talk(socket).then(() => socket.end());
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const address = server.address();
  return { server, port: typeof address === 'object' && address !== null ? address.port : 0, connections: () => connections };
}

/** Runs a job reading the socket into an array; resolves with what it read once the job ends. */
async function collect(env: StreamExecutionEnvironment, port: number, delimiter?: string): Promise<string[]> {
  const seen: string[] = [];
  env.socketTextStream('127.0.0.1', port, delimiter).sinkTo({ invoke: (line: string) => void seen.push(line) }).uid('collect');
  await env.execute('socket');
  return seen;
}

describe('socketTextStream', () => {
  it('splits lines cut across packets (mid-line, between \\r and \\n, inside a UTF-8 character), emits the rest at the end, and ends with the connection', async () => {
    const euro = Buffer.from('€', 'utf8'); // three bytes
    const { server, port, connections } = await serve(async (s) => {
      await send(s, 'hel');
      await send(s, 'lo\r');
      await send(s, '\nwor');
      await send(s, Buffer.concat([Buffer.from('ld '), euro.subarray(0, 1)]));
      await send(s, Buffer.concat([euro.subarray(1), Buffer.from('\n\nlast without newline')]));
    });
    try {
      const lines = await collect(StreamExecutionEnvironment.getExecutionEnvironment(), port);
      expect(lines).toEqual(['hello', 'world €', '', 'last without newline']);
      expect(connections()).toBe(1);
    } finally {
      server.close();
    }
  });

  it('splits on another delimiter, keeping \\r as data (as Flink strips it only for \\n)', async () => {
    const { server, port } = await serve(async (s) => {
      await send(s, 'a\r|b|');
      await send(s, '|c');
    });
    try {
      expect(await collect(StreamExecutionEnvironment.getExecutionEnvironment(), port, '||')).toEqual(['a\r|b', 'c']);
    } finally {
      server.close();
    }
  });

  it('a refused connection fails the job in one line naming host and port', async () => {
    const port = await freePort(); // nothing listens there
    await expect(collect(StreamExecutionEnvironment.getExecutionEnvironment(), port)).rejects.toThrow(
      `socketTextStream: cannot read from 127.0.0.1:${port}: connection refused; start a server there first (e.g. \`nc -lk ${port}\`)`,
    );
  });

  it('is refused with exactly-once checkpointing, telling the user to choose at-least-once; runs with at-least-once', async () => {
    const exactlyOnce = StreamExecutionEnvironment.getExecutionEnvironment().configureCheckpointing({ interval: 50, dir: `${dir.path}/eo` });
    await expect(collect(exactlyOnce, 1)).rejects.toThrow(
      "source 'Socket Stream' (socketTextStream(127.0.0.1:1)) cannot be replayed from a checkpoint, so exactly-once checkpointing cannot hold for it: " +
        "set execution.checkpointing.mode: AT_LEAST_ONCE explicitly (or enableCheckpointing(interval, 'AT_LEAST_ONCE')), accepting that a failure loses what it read since the last checkpoint, or turn checkpointing off",
    );
    // The server holds the connection open after 100 lines until the job has checkpointed.
    let checkpointed!: () => void;
    const afterCheckpoint = new Promise<void>((resolve) => (checkpointed = resolve));
    const { server, port } = await serve(async (s) => {
      for (let i = 0; i < 100; i++) await send(s, `line ${i}\n`);
      await afterCheckpoint;
      for (let i = 100; i < 200; i++) await send(s, `line ${i}\n`);
    });
    try {
      const atLeastOnce = StreamExecutionEnvironment.getExecutionEnvironment().configureCheckpointing({ interval: 60_000, dir: `${dir.path}/alo`, mode: 'AT_LEAST_ONCE' });
      const seen: string[] = [];
      atLeastOnce.socketTextStream('127.0.0.1', port).sinkTo({ invoke: (line: string) => void seen.push(line) }).uid('collect');
      const client = atLeastOnce.executeAsync('socket, at least once');
      while (seen.length < 100) await new Promise((r) => setTimeout(r, 10));
      expect(await client.triggerCheckpoint()).toContain('chk-');
      checkpointed();
      const result = await client.result;
      expect(result.checkpoints).toBeGreaterThanOrEqual(1); // the one triggered (and a final one as the source ends)
      expect(seen).toEqual(Array.from({ length: 200 }, (_, i) => `line ${i}`));
    } finally {
      server.close();
    }
  });

  it('runs at parallelism 1 whatever the job default, and refuses another', async () => {
    expect(StreamExecutionEnvironment.getExecutionEnvironment().setParallelism(4).socketTextStream('127.0.0.1', 1).node.parallelism).toBe(1);
    const env = StreamExecutionEnvironment.getExecutionEnvironment().setParallelism(2);
    env.socketTextStream('127.0.0.1', 1).setParallelism(2).sinkTo({ invoke: () => undefined });
    expect(() => env.execute('socket p2')).toThrow("source 'Socket Stream' (socketTextStream(127.0.0.1:1)) is not parallel: its parallelism must be 1, not 2; leave its setParallelism out (operators after it may run at any parallelism)");
  });

  it('refuses a bad port or an empty delimiter where the job is built', () => {
    expect(() => new SocketTextSource({ host: 'localhost', port: 70000 })).toThrow('socketTextStream: port 70000 is not a port number (1 to 65535)');
    expect(() => new SocketTextSource({ host: 'localhost', port: 9999, delimiter: '' })).toThrow('socketTextStream: the delimiter must be a non-empty string');
  });
});
