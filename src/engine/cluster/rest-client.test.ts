import { createServer as createHttpServer } from 'node:http';
import type { RequestListener } from 'node:http';
import { createServer as createTcpServer } from 'node:net';
import type { AddressInfo, Server, Socket } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { UsageError, UserError } from '../../errors.ts';
import { ApiError } from './cluster-api.ts';
import { clusterAnswers, NoClusterError, RestClient, restUrl } from './rest-client.ts';

const ADVICE = "Start one with 'flink cluster start' (or 'flink run -d', which starts one), or point to yours with -m <host:port>.";

const cleanups: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0)) await cleanup();
});

/** A TCP server that does `onConnection` to every client; closed (sockets and all) after the test. */
async function tcpServer(onConnection: (socket: Socket) => void): Promise<string> {
  const sockets = new Set<Socket>();
  const server = createTcpServer((socket) => {
    sockets.add(socket);
    onConnection(socket);
  });
  return track(server, () => sockets.forEach((s) => s.destroy()));
}

async function httpServer(listener: RequestListener): Promise<string> {
  const server = createHttpServer(listener);
  return track(server, () => server.closeAllConnections());
}

async function track(server: Server, destroyAll: () => void): Promise<string> {
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  cleanups.push(() => {
    destroyAll();
    return new Promise((resolve) => server.close(() => resolve()));
  });
  return `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
}

async function closedPortUrl(): Promise<string> {
  const server = createTcpServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  await new Promise((resolve) => server.close(resolve));
  return `http://127.0.0.1:${port}`;
}

async function failure(run: () => Promise<unknown>): Promise<Error> {
  const err = await run().then(
    () => undefined,
    (e: unknown) => e,
  );
  if (!(err instanceof Error)) throw new Error(`expected a rejection, got ${String(err)}`);
  return err;
}

describe('RestClient without a cluster', () => {
  it('reports a refused connection as NoClusterError', async () => {
    const url = await closedPortUrl();
    const err = await failure(() => new RestClient(url).overview());
    expect(err).toBeInstanceOf(NoClusterError);
    expect(err).toBeInstanceOf(UserError);
    expect(err.message).toBe(`Could not connect to the JobManager at ${url}: no cluster answers there. ${ADVICE}`);
    expect((err as NoClusterError).exitCode).toBe(1);
  });

  it('reports a reset connection as NoClusterError', async () => {
    // Reset once the request arrives: undici would quietly retry a socket closed before it wrote.
    const url = await tcpServer((socket) => socket.once('data', () => socket.resetAndDestroy()));
    const err = await failure(() => new RestClient(url).jobs());
    expect(err.message).toBe(`Could not connect to the JobManager at ${url}: no cluster answers there. ${ADVICE}`);
  });

  it('reports an unknown host as NoClusterError', async () => {
    const err = await failure(() => new RestClient('http://no-such-host.invalid:8081').overview());
    expect(err.message).toBe(`Could not connect to the JobManager at http://no-such-host.invalid:8081: no cluster answers there. ${ADVICE}`);
  });

  it('reports a server that never answers as a timeout', async () => {
    const url = await tcpServer(() => {});
    const started = Date.now();
    const err = await failure(() => new RestClient(url, { timeoutMs: 300 }).cancel('3f2a9c0d1e4b5a6978c0d1e2f3a4b5c6'));
    expect(err).toBeInstanceOf(NoClusterError);
    expect(err.message).toBe(`Could not connect to the JobManager at ${url}: it did not answer within 0.3 s. ${ADVICE}`);
    expect(Date.now() - started).toBeGreaterThanOrEqual(250);
  });

  it('times out a server that sends headers and then stalls', async () => {
    const url = await httpServer((_req, res) => {
      res.writeHead(200, { 'Content-Type': 'application/json' });
      res.write('{"taskmanagers":');
    });
    const err = await failure(() => new RestClient(url, { timeoutMs: 200 }).overview());
    expect(err.message).toBe(`Could not connect to the JobManager at ${url}: it did not answer within 0.2 s. ${ADVICE}`);
  });

  it('reports a connection that closes in the middle of the answer as NoClusterError', async () => {
    const url = await httpServer((_req, res) => {
      res.writeHead(200, { 'Content-Type': 'application/json', 'Content-Length': '100' });
      res.write('{"taskmanagers":', () => res.socket?.destroy());
    });
    const err = await failure(() => new RestClient(url).overview());
    expect(err.message).toBe(`Could not connect to the JobManager at ${url}: no cluster answers there. ${ADVICE}`);
  });

  it('says whether a cluster answers', async () => {
    const up = await httpServer((_req, res) => res.end('{}'));
    expect(await clusterAnswers(up)).toBe(true);
    expect(await clusterAnswers(await closedPortUrl())).toBe(false);
    expect(await clusterAnswers(await tcpServer(() => {}), 100)).toBe(false);
  });

  it('counts a JobManager that is slow to answer (a loaded machine) as running', async () => {
    const slow = await httpServer((_req, res) => void setTimeout(() => res.end('{}'), 1_500));
    expect(await clusterAnswers(slow)).toBe(true);
  });
});

describe('RestClient answers that are not Flink JSON', () => {
  it('says the address is not a JobManager when an error has no errors list', async () => {
    const url = await httpServer((_req, res) => {
      res.statusCode = 502;
      res.end('<html>Bad Gateway</html>');
    });
    const err = await failure(() => new RestClient(`${url}/`).overview());
    expect(err.constructor).toBe(ApiError);
    expect((err as ApiError).httpStatus).toBe(502);
    expect(err.message).toBe(`The server at ${url} does not answer as a tsflink/Flink JobManager (GET /overview gave HTTP 502 without Flink's JSON error). Point -m <host:port> at the JobManager's REST address.`);
  });

  it('says the same of a JSON error that is not Flink\'s', async () => {
    const url = await httpServer((_req, res) => {
      res.statusCode = 404;
      res.end('{"message":"no route"}');
    });
    const err = await failure(() => new RestClient(url).jobsOverview());
    expect(err.message).toBe(`The server at ${url} does not answer as a tsflink/Flink JobManager (GET /jobs/overview gave HTTP 404 without Flink's JSON error). Point -m <host:port> at the JobManager's REST address.`);
  });

  it('keeps a JobManager\'s own error message', async () => {
    const url = await httpServer((_req, res) => {
      res.statusCode = 404;
      res.end('{"errors":["Job 1 not found."]}');
    });
    const err = await failure(() => new RestClient(url).job('1'));
    expect(err.message).toBe('Job 1 not found.');
  });

  it('refuses a 200 that is not JSON', async () => {
    const url = await httpServer((_req, res) => res.end('hello'));
    const err = await failure(() => new RestClient(url).overview());
    expect(err).toBeInstanceOf(ApiError);
    expect(err.message).toBe(`The server at ${url} does not answer as a tsflink/Flink JobManager (GET /overview gave HTTP 200 without JSON). Point -m <host:port> at the JobManager's REST address.`);
  });
});

describe('restUrl', () => {
  it.each([
    ['localhost:8081', 'http://localhost:8081'],
    ['jobmanager', 'http://jobmanager:8081'],
    ['http://10.0.0.5:9000', 'http://10.0.0.5:9000'],
    ['http://10.0.0.5', 'http://10.0.0.5:8081'],
    ['HTTP://JM.Example.com:2/', 'http://jm.example.com:2'],
    [' 127.0.0.1:65535 ', 'http://127.0.0.1:65535'],
    ['[::1]:8081', 'http://[::1]:8081'],
    ['[::1]', 'http://[::1]:8081'],
  ])('%s -> %s', (input, url) => {
    expect(restUrl(input)).toBe(url);
  });

  it.each(['127.0.0.1:1', 'http://jm:6000', 'jm:10080'])('refuses %j, a port Node\'s fetch refuses', (input) => {
    const port = /(\d+)$/.exec(input)?.[1];
    expect(() => restUrl(input)).toThrow(new UsageError(`Invalid JobManager address '${input}': port ${port} is one Node's HTTP client refuses (a WHATWG "bad port"); use another port.`));
  });

  it.each(['', 'host:', 'host:0', 'host:99999', 'a b', 'http://h:1/path', 'https://h:1', 'h:port', '-h:1', 'ftp://h:1'])('refuses %j', (input) => {
    let err: unknown;
    try {
      restUrl(input);
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(UsageError);
    expect((err as Error).message).toContain(`Invalid JobManager address '${input}': `);
    expect((err as Error).message).toContain('Use host:port, host or http://host:port (e.g. localhost:8081).');
  });
});
