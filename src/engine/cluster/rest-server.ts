/**
 * The JobManager's REST endpoint: Flink's paths and JSON over `node:http`, mapped onto a
 * `ClusterApi`. Every answer, errors included, is JSON (`{"errors":[message]}`), because the CLI
 * and scripts written for Flink parse it.
 */
import { createServer } from 'node:http';
import type { IncomingMessage, Server, ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { UserError } from '../../errors.ts';
import { ApiError } from './cluster-api.ts';
import type { ClusterApi } from './cluster-api.ts';
import { DASHBOARD_CSP } from './dashboard-assets.ts';
import type { DashboardAsset, DashboardAssets } from './dashboard-assets.ts';
import { matchRoute, restRoutes } from './rest-routes.ts';
import type { Route, RouteResponse } from './rest-routes.ts';
import { parseJsonBody, resolvePathParameters } from './rest-validation.ts';

export interface RestServer {
  /** The address the socket is bound to. */
  readonly address: string;
  /** The real port (the chosen one when asked for port 0). */
  readonly port: number;
  /** Where a client on this machine reaches the server, e.g. `http://127.0.0.1:8081`. */
  readonly url: string;
  close(): Promise<void>;
}

export interface RestServerOptions {
  readonly bindAddress: string;
  readonly port: number;
  /**
   * Told of errors the client only sees as a 500 (and of a failed shutdown after DELETE /cluster),
   * so the JobManager can log their stack. Default: a process warning.
   */
  readonly onInternalError?: (err: unknown) => void;
  /** The web dashboard's files, served on GET next to the JSON API; absent: the API alone. */
  readonly dashboard?: DashboardAssets;
  /** `rest.server.max-content-length`: the largest request body (a submission carries the job's code). */
  readonly maxContentLength?: number;
}

/** Flink's default of `rest.server.max-content-length`. */
export const DEFAULT_MAX_CONTENT_LENGTH = 104_857_600;
/**
 * An oversized body is read to its end before the 413, so the client sees the answer instead of
 * a reset connection; past this much more we stop reading and close the connection.
 */
const DRAINED_BEYOND_LIMIT_BYTES = 32 * 1024 * 1024;
/** In-flight requests get this long after close() before their connections are cut. */
const CLOSE_GRACE_MS = 2000;
const JSON_TYPE = 'application/json; charset=UTF-8';

export async function startRestServer(api: ClusterApi, options: RestServerOptions): Promise<RestServer> {
  const routes = restRoutes(api);
  const limit = options.maxContentLength ?? DEFAULT_MAX_CONTENT_LENGTH;
  const onInternalError = options.onInternalError ?? ((err: unknown) => process.emitWarning(describe(err), 'RestServerError'));
  const server = createServer((req, res) => {
    void handle(routes, req, res, onInternalError, options.dashboard, limit);
  });
  await listen(server, options.bindAddress, options.port);
  const bound = server.address() as AddressInfo;
  return {
    address: bound.address,
    port: bound.port,
    url: `http://${clientHost(bound)}:${bound.port}`,
    close: () => closeServer(server),
  };
}

function listen(server: Server, bindAddress: string, port: number): Promise<void> {
  return new Promise((resolve, reject) => {
    const fail = (err: unknown): void => {
      server.off('listening', onListening);
      reject(new UserError(`Could not start the REST server on ${bindAddress}:${port}: ${listenProblem(err)}`, 1, { cause: err }));
    };
    const onListening = (): void => {
      server.off('error', fail);
      resolve();
    };
    server.once('error', fail);
    server.once('listening', onListening);
    try {
      server.listen(port, bindAddress);
    } catch (err) {
      // A port out of range throws here rather than emitting 'error'.
      fail(err);
    }
  });
}

function listenProblem(err: unknown): string {
  const code = (err as NodeJS.ErrnoException | undefined)?.code;
  switch (code) {
    case 'EADDRINUSE':
      return 'the port is in use. Stop the process that uses it, or choose another port with -D rest.port=<port>.';
    case 'EACCES':
      return 'permission denied (ports below 1024 need privileges). Choose another port with -D rest.port=<port>.';
    case 'EADDRNOTAVAIL':
      return 'the address is not one of this machine\'s. Choose another with -D rest.bind-address=<address>.';
    case 'ENOTFOUND':
    case 'EAI_AGAIN':
      return 'the bind address does not resolve. Choose another with -D rest.bind-address=<address>.';
    case 'ERR_SOCKET_BAD_PORT':
      return 'the port must be between 0 and 65535. Choose another with -D rest.port=<port>.';
    default:
      return `${oneLine(describe(err))}.`;
  }
}

/** A wildcard bind accepts loopback connections, and a URL cannot name the wildcard. */
function clientHost(bound: AddressInfo): string {
  if (bound.address === '0.0.0.0') return '127.0.0.1';
  if (bound.address === '::') return '[::1]';
  return bound.family === 'IPv6' ? `[${bound.address}]` : bound.address;
}

function closeServer(server: Server): Promise<void> {
  return new Promise((resolve, reject) => {
    // Idle keep-alive connections would hold close() open; busy ones get a grace period.
    const cut = setTimeout(() => server.closeAllConnections(), CLOSE_GRACE_MS);
    cut.unref();
    server.close((err) => {
      clearTimeout(cut);
      if (err) reject(err);
      else resolve();
    });
    server.closeIdleConnections();
  });
}

async function handle(
  routes: readonly Route[],
  req: IncomingMessage,
  res: ServerResponse,
  onInternalError: (err: unknown) => void,
  dashboard: DashboardAssets | undefined,
  limit: number,
): Promise<void> {
  const rawUrl = req.url ?? '/';
  const queryAt = rawUrl.indexOf('?');
  const path = queryAt < 0 ? rawUrl : rawUrl.slice(0, queryAt);
  try {
    // The dashboard's paths are an exact-match table that no API path is in.
    const asset = dashboard !== undefined && (req.method === 'GET' || req.method === 'HEAD') ? await dashboard(path) : undefined;
    if (asset !== undefined) {
      sendAsset(res, asset, req.method === 'HEAD');
      return;
    }
    const response = await dispatch(routes, req, path, new URLSearchParams(queryAt < 0 ? '' : rawUrl.slice(queryAt + 1)), limit);
    const after = response.afterResponse;
    // A promise chain, so that a hook that throws before returning its promise is caught as well.
    const afterFlush = after && ((): void => void Promise.resolve().then(after).catch(onInternalError));
    send(res, response.status, response.body, afterFlush);
  } catch (err) {
    if (err instanceof ApiError) {
      send(res, err.httpStatus, errors(err.message));
    } else if (err instanceof BodyTooLarge) {
      send(res, 413, errors(`Request body too large: the limit is ${limit} bytes (rest.server.max-content-length).`), undefined, err.closeConnection);
    } else if (err instanceof ClientGone) {
      res.destroy();
    } else {
      onInternalError(err);
      send(res, 500, errors(`Internal server error: ${oneLine(describe(err))}`));
    }
  }
}

async function dispatch(routes: readonly Route[], req: IncomingMessage, path: string, query: URLSearchParams, limit: number): Promise<RouteResponse> {
  const method = req.method ?? 'GET';
  let segments: string[];
  try {
    segments = path.split('/').filter((s) => s !== '').map((s) => decodeURIComponent(s));
  } catch {
    throw new ApiError(404, `Not found: ${path}`);
  }
  const match = matchRoute(routes, method, segments);
  if (match.kind === 'not-found') throw new ApiError(404, `Not found: ${path}`);
  if (match.kind === 'method-not-allowed') throw new ApiError(405, `Method ${method} is not allowed for ${path}`);
  const params = resolvePathParameters(match.params);
  const body = match.route.body ? parseJsonBody(await readBody(req, limit)) : {};
  return match.route.handle({ params, query, body });
}

class BodyTooLarge extends Error {
  constructor(readonly closeConnection: boolean) {
    super('request body too large');
  }
}

/** The client hung up mid-request: nobody is left to answer. */
class ClientGone extends Error {}

async function readBody(req: IncomingMessage, limit: number): Promise<Buffer> {
  const drained = limit + DRAINED_BEYOND_LIMIT_BYTES;
  const declared = Number(req.headers['content-length'] ?? 0);
  if (declared > drained) throw new BodyTooLarge(true);
  const chunks: Buffer[] = [];
  let size = 0;
  try {
    for await (const chunk of req) {
      size += (chunk as Buffer).length;
      if (size > drained) throw new BodyTooLarge(true);
      if (size <= limit) chunks.push(chunk as Buffer);
    }
  } catch (err) {
    if (err instanceof BodyTooLarge) throw err;
    throw new ClientGone('client disconnected', { cause: err });
  }
  if (size > limit) throw new BodyTooLarge(false);
  return Buffer.concat(chunks);
}

function errors(message: string): { errors: string[] } {
  return { errors: [message] };
}

function send(res: ServerResponse, status: number, body: unknown, afterFlush?: () => void, closeConnection = false): void {
  if (res.headersSent) {
    res.destroy();
    return;
  }
  const text = JSON.stringify(body);
  const headers: Record<string, string | number> = { 'Content-Type': JSON_TYPE, 'Content-Length': Buffer.byteLength(text) };
  if (closeConnection) headers['Connection'] = 'close';
  res.writeHead(status, headers);
  res.end(text, afterFlush);
}

function sendAsset(res: ServerResponse, asset: DashboardAsset, headOnly: boolean): void {
  res.writeHead(200, {
    'Content-Type': asset.contentType,
    'Content-Length': asset.body.length,
    'Content-Security-Policy': DASHBOARD_CSP,
    'X-Content-Type-Options': 'nosniff',
    'Referrer-Policy': 'no-referrer',
    // Bundled by this JobManager: one restarted from a newer checkout serves a newer bundle.
    'Cache-Control': 'no-cache',
  });
  res.end(headOnly ? undefined : asset.body);
}

function describe(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}

function oneLine(text: string): string {
  return text.split('\n')[0] ?? '';
}
