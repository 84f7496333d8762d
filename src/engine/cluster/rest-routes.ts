/**
 * Flink's REST paths, each mapped onto one `ClusterApi` call. Kept apart from the HTTP plumbing so
 * the whole surface of the API reads as one table.
 */
import { BadRequestError, NotFoundError } from './cluster-api.ts';
import type { ClusterApi } from './cluster-api.ts';
import {
  checkpointTriggerRequest,
  savepointDisposalRequest,
  savepointTriggerRequest,
  stopRequest,
  submitRequest,
  taskManagerRegistration,
} from './rest-validation.ts';

export interface RouteRequest {
  /** Decoded path parameters, already read as Flink reads them (`resolvePathParameters`). */
  readonly params: Readonly<Record<string, string>>;
  readonly query: URLSearchParams;
  /** The parsed JSON object (`{}` when empty); only routes with `body: true` get one. */
  readonly body: Record<string, unknown>;
}

export interface RouteResponse {
  readonly status: number;
  readonly body: unknown;
  /** Runs once the response has been flushed to the client. */
  readonly afterResponse?: () => Promise<void>;
}

export interface Route {
  readonly method: 'GET' | 'POST' | 'PATCH' | 'DELETE';
  /** Segments; `:name` is a parameter. */
  readonly path: readonly string[];
  readonly body?: boolean;
  handle(request: RouteRequest): Promise<RouteResponse>;
}

export type RouteMatch =
  | { readonly kind: 'found'; readonly route: Route; readonly params: Record<string, string> }
  | { readonly kind: 'not-found' }
  | { readonly kind: 'method-not-allowed' };

const ok = (body: unknown): RouteResponse => ({ status: 200, body });
const accepted = (body: unknown): RouteResponse => ({ status: 202, body });

function route(method: Route['method'], path: string, handle: Route['handle'], body = false): Route {
  return { method, path: path.split('/').filter((s) => s !== ''), handle, body };
}

/** Literal paths come before parametrised ones with the same shape (`/jobs/overview` before `/jobs/:jobid`). */
export function restRoutes(api: ClusterApi): readonly Route[] {
  const param = (r: RouteRequest, name: string): string => {
    const value = r.params[name];
    // A route's handler only reads the parameters its own path declares.
    if (value === undefined) throw new Error(`route parameter '${name}' is missing`);
    return value;
  };
  const jobId = (r: RouteRequest): string => param(r, 'jobid');
  const triggerId = (r: RouteRequest): string => param(r, 'triggerid');
  const vertexId = (r: RouteRequest): string => param(r, 'vertexid');
  // Any Java long is accepted; past 2^53 it rounds, harmless as no checkpoint count gets near it.
  const checkpointId = (r: RouteRequest): number => Number(param(r, 'checkpointid'));

  return [
    route('GET', '/overview', async () => ok(await api.overview())),
    route('GET', '/config', async () => ok(await api.dashboardConfig())),
    route('GET', '/jobmanager/config', async () => ok(await api.jobManagerConfig())),
    route('GET', '/taskmanagers', async () => ok(await api.taskManagers())),
    route(
      'POST',
      '/taskmanagers',
      async (r) => {
        await api.registerTaskManager(taskManagerRegistration(r.body));
        return ok({});
      },
      true,
    ),
    route('POST', '/taskmanagers/:taskmanagerid/heartbeat', async (r) => {
      const id = param(r, 'taskmanagerid');
      if (!(await api.taskManagerHeartbeat(id))) throw new NotFoundError(`TaskManager ${id} is not registered with this JobManager: register again.`);
      return ok({});
    }),
    route('GET', '/blobs/:blobkey', async (r) => ok(await api.jobCode(param(r, 'blobkey')))),
    route('GET', '/jobs/overview', async () => ok(await api.jobsOverview())),
    route('GET', '/jobs', async () => ok(await api.jobs())),
    route('POST', '/jobs', async (r) => accepted(await api.submit(submitRequest(r.body))), true),
    route('GET', '/jobs/:jobid', async (r) => ok(await api.job(jobId(r)))),
    route('PATCH', '/jobs/:jobid', async (r) => {
      const mode = r.query.get('mode');
      // Flink 2 removed `mode=stop`; stopping goes through /stop with a savepoint.
      if (mode !== 'cancel') {
        throw new BadRequestError(
          mode === null ? "Query parameter 'mode' is required: use mode=cancel." : `Invalid mode '${mode}': the only mode is 'cancel'.`,
        );
      }
      await api.cancel(jobId(r));
      return accepted({});
    }),
    route(
      'POST',
      '/jobs/:jobid/savepoints',
      async (r) => accepted(await api.triggerSavepoint(jobId(r), savepointTriggerRequest(r.body))),
      true,
    ),
    route('GET', '/jobs/:jobid/savepoints/:triggerid', async (r) => ok(await api.savepointStatus(jobId(r), triggerId(r)))),
    route('POST', '/jobs/:jobid/stop', async (r) => accepted(await api.stop(jobId(r), stopRequest(r.body))), true),
    route(
      'POST',
      '/jobs/:jobid/checkpoints',
      async (r) => accepted(await api.triggerCheckpoint(jobId(r), checkpointTriggerRequest(r.body))),
      true,
    ),
    route('GET', '/jobs/:jobid/checkpoints', async (r) => ok(await api.checkpoints(jobId(r)))),
    route('GET', '/jobs/:jobid/exceptions', async (r) => ok(await api.exceptions(jobId(r)))),
    route('GET', '/jobs/:jobid/checkpoints/config', async (r) => ok(await api.checkpointConfig(jobId(r)))),
    route('GET', '/jobs/:jobid/checkpoints/:triggerid', async (r) => ok(await api.checkpointStatus(jobId(r), triggerId(r)))),
    route('GET', '/jobs/:jobid/checkpoints/details/:checkpointid', async (r) => ok(await api.checkpointDetails(jobId(r), checkpointId(r)))),
    route('GET', '/jobs/:jobid/checkpoints/details/:checkpointid/subtasks/:vertexid', async (r) => ok(await api.checkpointSubtaskDetails(jobId(r), checkpointId(r), vertexId(r)))),
    route('GET', '/jobs/:jobid/plan', async (r) => ok(await api.plan(jobId(r)))),
    route('GET', '/jobs/:jobid/vertices/:vertexid', async (r) => ok(await api.vertex(jobId(r), vertexId(r)))),
    route(
      'POST',
      '/savepoint-disposal',
      async (r) => accepted(await api.disposeSavepoint(savepointDisposalRequest(r.body))),
      true,
    ),
    route('GET', '/savepoint-disposal/:triggerid', async (r) => ok(await api.disposalStatus(triggerId(r)))),
    // The response must reach the client before the JobManager goes away, hence afterResponse.
    route('DELETE', '/cluster', async () => ({ status: 202, body: {}, afterResponse: () => api.shutdown() })),
  ];
}

function matchPath(pattern: readonly string[], segments: readonly string[]): Record<string, string> | undefined {
  if (pattern.length !== segments.length) return undefined;
  const params: Record<string, string> = {};
  for (const [i, part] of pattern.entries()) {
    const segment = segments[i] as string;
    if (part.startsWith(':')) params[part.slice(1)] = segment;
    else if (part !== segment) return undefined;
  }
  return params;
}

/**
 * The first route whose path and method match. A path that some route has, asked with another
 * method, is a 405 rather than a 404, so `GET /jobs/:id/stop` tells the caller what is wrong.
 * A literal segment shadows a parameter for all methods: `POST /jobs/overview` is a 405, not a
 * request for job "overview".
 */
export function matchRoute(routes: readonly Route[], method: string, segments: readonly string[]): RouteMatch {
  let pathKnown = false;
  let shadowed: readonly string[] | undefined;
  for (const candidate of routes) {
    const params = matchPath(candidate.path, segments);
    if (params === undefined) continue;
    if (shadowed !== undefined && !samePattern(shadowed, candidate.path)) continue;
    shadowed ??= candidate.path;
    pathKnown = true;
    if (candidate.method === method) return { kind: 'found', route: candidate, params };
  }
  return pathKnown ? { kind: 'method-not-allowed' } : { kind: 'not-found' };
}

function samePattern(a: readonly string[], b: readonly string[]): boolean {
  return a.length === b.length && a.every((part, i) => part === b[i]);
}
