/**
 * `ClusterApi` over HTTP, so CLI commands call a remote JobManager as if it were local. Error
 * answers come back as the same error classes the dispatcher threw, and a cluster that is not
 * there becomes one line telling the user how to start or find one.
 */
import { request as httpRequest } from 'node:http';
import type { TaskManagerRegistration } from './taskmanager/task-manager-registry.ts';
import { UsageError, UserError } from '../../errors.ts';
import { ApiError, BadRequestError, ConflictError, NotFoundError } from './cluster-api.ts';
import { badPortProblem } from './bad-ports.ts';
import type {
  AsyncOperation,
  CheckpointConfigInfo,
  CheckpointDetails,
  TaskCheckpointDetails,
  CheckpointStatistics,
  CheckpointTriggerRequest,
  ClusterApi,
  ClusterOverview,
  DashboardConfiguration,
  JobDetails,
  JobPlanInfo,
  JobVertexDetails,
  TaskManagersInfo,
  JobExceptions,
  JobOverview,
  JobState,
  SavepointTriggerRequest,
  StopRequest,
  SubmitRequest,
  TriggerResponse,
} from './cluster-api.ts';

const DEFAULT_TIMEOUT_MS = 30_000;
const DEFAULT_PORT = 8081;
const ADVICE = "Start one with 'flink cluster start' (or 'flink run -d', which starts one), or point to yours with -m <host:port>.";

/** No JobManager answered: nothing listens, the connection broke, the host is unknown, or it was silent too long. */
export class NoClusterError extends UserError {
  override readonly name: string = 'NoClusterError';
  constructor(
    readonly baseUrl: string,
    /** Set when the cluster was reached but did not answer in time. */
    readonly timeoutMs?: number,
    /** `advice` replaces the general one where it does not fit (`run -m` never starts a cluster). */
    options?: { cause?: unknown; advice?: string },
  ) {
    const problem = timeoutMs === undefined ? 'no cluster answers there' : `it did not answer within ${timeoutMs / 1000} s`;
    super(`Could not connect to the JobManager at ${baseUrl}: ${problem}. ${options?.advice ?? ADVICE}`, 1, options?.cause === undefined ? undefined : { cause: options.cause });
  }
}

export class RestClient implements ClusterApi {
  private readonly baseUrl: string;
  private readonly timeoutMs: number;

  constructor(baseUrl: string, options?: { timeoutMs?: number }) {
    this.baseUrl = baseUrl.replace(/\/+$/, '');
    this.timeoutMs = options?.timeoutMs ?? DEFAULT_TIMEOUT_MS;
  }

  overview(): Promise<ClusterOverview> {
    return this.request('GET', '/overview');
  }

  jobsOverview(): Promise<{ readonly jobs: readonly JobOverview[] }> {
    return this.request('GET', '/jobs/overview');
  }

  jobs(): Promise<{ readonly jobs: readonly { readonly id: string; readonly status: JobState }[] }> {
    return this.request('GET', '/jobs');
  }

  job(jobId: string): Promise<JobDetails> {
    return this.request('GET', `/jobs/${seg(jobId)}`);
  }

  exceptions(jobId: string): Promise<JobExceptions> {
    return this.request('GET', `/jobs/${seg(jobId)}/exceptions`);
  }

  submit(request: SubmitRequest): Promise<{ readonly jobid: string }> {
    return this.request('POST', '/jobs', request);
  }

  async cancel(jobId: string): Promise<void> {
    await this.request('PATCH', `/jobs/${seg(jobId)}?mode=cancel`);
  }

  triggerSavepoint(jobId: string, request: SavepointTriggerRequest): Promise<TriggerResponse> {
    return this.request('POST', `/jobs/${seg(jobId)}/savepoints`, request);
  }

  savepointStatus(jobId: string, triggerId: string): Promise<AsyncOperation<{ readonly location: string }>> {
    return this.request('GET', `/jobs/${seg(jobId)}/savepoints/${seg(triggerId)}`);
  }

  stop(jobId: string, request: StopRequest): Promise<TriggerResponse> {
    return this.request('POST', `/jobs/${seg(jobId)}/stop`, request);
  }

  triggerCheckpoint(jobId: string, request: CheckpointTriggerRequest): Promise<TriggerResponse> {
    return this.request('POST', `/jobs/${seg(jobId)}/checkpoints`, request);
  }

  checkpointStatus(jobId: string, triggerId: string): Promise<AsyncOperation<{ readonly checkpointId: number }>> {
    return this.request('GET', `/jobs/${seg(jobId)}/checkpoints/${seg(triggerId)}`);
  }

  checkpoints(jobId: string): Promise<CheckpointStatistics> {
    return this.request('GET', `/jobs/${seg(jobId)}/checkpoints`);
  }

  checkpointConfig(jobId: string): Promise<CheckpointConfigInfo> {
    return this.request('GET', `/jobs/${seg(jobId)}/checkpoints/config`);
  }

  checkpointDetails(jobId: string, checkpointId: number): Promise<CheckpointDetails> {
    return this.request('GET', `/jobs/${seg(jobId)}/checkpoints/details/${checkpointId}`);
  }

  checkpointSubtaskDetails(jobId: string, checkpointId: number, vertexId: string): Promise<TaskCheckpointDetails> {
    return this.request('GET', `/jobs/${seg(jobId)}/checkpoints/details/${checkpointId}/subtasks/${seg(vertexId)}`);
  }

  plan(jobId: string): Promise<JobPlanInfo> {
    return this.request('GET', `/jobs/${seg(jobId)}/plan`);
  }

  vertex(jobId: string, vertexId: string): Promise<JobVertexDetails> {
    return this.request('GET', `/jobs/${seg(jobId)}/vertices/${seg(vertexId)}`);
  }

  dashboardConfig(): Promise<DashboardConfiguration> {
    return this.request('GET', '/config');
  }

  jobManagerConfig(): Promise<readonly { readonly key: string; readonly value: string }[]> {
    return this.request('GET', '/jobmanager/config');
  }

  taskManagers(): Promise<TaskManagersInfo> {
    return this.request('GET', '/taskmanagers');
  }

  jobCode(key: string): Promise<{ readonly code: string }> {
    return this.request('GET', `/blobs/${seg(key)}`);
  }

  async registerTaskManager(registration: TaskManagerRegistration): Promise<void> {
    await this.request('POST', '/taskmanagers', registration);
  }

  async taskManagerHeartbeat(id: string): Promise<boolean> {
    try {
      await this.request('POST', `/taskmanagers/${seg(id)}/heartbeat`);
      return true;
    } catch (err) {
      if (err instanceof NotFoundError) return false;
      throw err;
    }
  }

  disposeSavepoint(savepointPath: string): Promise<TriggerResponse> {
    return this.request('POST', '/savepoint-disposal', { 'savepoint-path': savepointPath });
  }

  disposalStatus(triggerId: string): Promise<AsyncOperation<Record<string, never>>> {
    return this.request('GET', `/savepoint-disposal/${seg(triggerId)}`);
  }

  async shutdown(): Promise<void> {
    await this.request('DELETE', '/cluster');
  }

  /**
   * The timeout covers the whole exchange, body included: a server that sends headers and then
   * stalls is as absent as one that never answers.
   */
  private async request<T>(method: string, path: string, body?: unknown): Promise<T> {
    let status: number;
    let text: string;
    try {
      ({ status, text } = await exchange(method, `${this.baseUrl}${path}`, body === undefined ? undefined : JSON.stringify(body), this.timeoutMs));
    } catch (err) {
      throw this.connectionError(err);
    }
    const parsed = parseJson(text);
    const ok = status >= 200 && status <= 299;
    // A JobManager answers in JSON, errors as `{"errors": [...]}`; anything else is another server.
    if (ok ? parsed === undefined : flinkErrorMessage(parsed) === undefined) {
      throw new ApiError(
        status,
        `The server at ${this.baseUrl} does not answer as a tsflink/Flink JobManager (${method} ${path} gave HTTP ${status}${ok ? ' without JSON' : " without Flink's JSON error"}). Point -m <host:port> at the JobManager's REST address.`,
      );
    }
    if (!ok) throw errorFor(status, parsed);
    return parsed as T;
  }

  private connectionError(err: unknown): Error {
    if (err instanceof ExchangeTimeout) return new NoClusterError(this.baseUrl, this.timeoutMs, { cause: err });
    if (err instanceof ExchangeFailure) return new NoClusterError(this.baseUrl, undefined, { cause: err.cause });
    return err instanceof Error ? err : new Error(String(err));
  }
}

/** The whole exchange took longer than the client's timeout. */
class ExchangeTimeout extends Error {
  override readonly name = 'TimeoutError';
}

/** The network failed the exchange (refused, reset, unknown host, not HTTP at all): `cause` says how. */
class ExchangeFailure extends Error {}

/**
 * One HTTP exchange over node:http rather than fetch: fetch's first use loads undici (~30 ms), and
 * a finished command then stayed alive ~50 ms longer, which every `flink` command that talks to a
 * cluster paid. One connection per exchange (`agent: false`, so `Connection: close`): no pooled
 * socket is left to hold the process, or to go stale between one poll and the next.
 */
function exchange(method: string, url: string, body: string | undefined, timeoutMs: number): Promise<{ status: number; text: string }> {
  return new Promise((resolve, reject) => {
    let settled = false;
    const settle = (done: () => void): void => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      done();
    };
    const fail = (err: Error): void => settle(() => reject(new ExchangeFailure(err.message, { cause: err })));
    const headers: Record<string, string> = { Accept: 'application/json' };
    if (body !== undefined) {
      headers['Content-Type'] = 'application/json';
      headers['Content-Length'] = String(Buffer.byteLength(body));
    }
    const req = httpRequest(url, { method, headers, agent: false }, (res) => {
      res.setEncoding('utf8');
      let text = '';
      res.on('data', (chunk: string) => {
        text += chunk;
      });
      res.on('end', () => settle(() => resolve({ status: res.statusCode ?? 0, text })));
      res.on('error', fail);
      // After 'end' this does nothing; before it, the connection closed in the middle of the answer.
      res.on('close', () => fail(new Error('the connection closed before the answer ended')));
    });
    const timer = setTimeout(() => {
      settle(() => reject(new ExchangeTimeout(`no answer within ${timeoutMs} ms`)));
      req.destroy();
    }, timeoutMs);
    req.on('error', fail);
    req.end(body);
  });
}

function seg(value: string): string {
  return encodeURIComponent(value);
}

function parseJson(text: string): unknown {
  try {
    return JSON.parse(text) as unknown;
  } catch {
    return undefined;
  }
}

/** The first of Flink's `{"errors": ["..."]}`, if the body is one. */
function flinkErrorMessage(body: unknown): string | undefined {
  const errors = (body as { errors?: unknown } | undefined)?.errors;
  return Array.isArray(errors) && typeof errors[0] === 'string' ? errors[0] : undefined;
}

function errorFor(status: number, body: unknown): ApiError {
  const message = flinkErrorMessage(body) ?? `HTTP ${status}`;
  switch (status) {
    case 400:
      return new BadRequestError(message);
    case 404:
      return new NotFoundError(message);
    case 409:
      return new ConflictError(message);
    default:
      return new ApiError(status, message);
  }
}

/**
 * Whether a JobManager answers at `baseUrl` (for `flink cluster status|stop`, and before starting
 * one). A refused connection says "no" at once; a JobManager that is slow to answer on a loaded
 * machine is still there, so it gets the ordinary client timeout, not a shorter one.
 */
export async function clusterAnswers(baseUrl: string, timeoutMs = DEFAULT_TIMEOUT_MS): Promise<boolean> {
  try {
    await new RestClient(baseUrl, { timeoutMs }).overview();
    return true;
  } catch {
    return false;
  }
}

const ADDRESS = /^(?:(https?):\/\/)?(\[[0-9a-f:.]+\]|[a-z0-9](?:[a-z0-9.-]*[a-z0-9])?)(?::(\d{1,5}))?\/?$/i;

/** `-m` and `rest.address` values: `host:port`, `http://host:port` or `host` (port 8081), to a base URL. */
export function restUrl(hostPort: string): string {
  const value = hostPort.trim();
  const match = ADDRESS.exec(value);
  const invalid = (why: string): UsageError =>
    new UsageError(`Invalid JobManager address '${hostPort}': ${why} Use host:port, host or http://host:port (e.g. localhost:8081).`);
  if (!match) throw invalid('it is not a host with an optional port.');
  const [, scheme, host, portText] = match;
  if (scheme?.toLowerCase() === 'https') throw invalid('the REST server speaks plain HTTP.');
  const port = portText === undefined ? DEFAULT_PORT : Number(portText);
  if (port < 1 || port > 65535) throw invalid(`port ${portText} is not between 1 and 65535.`);
  const bad = badPortProblem(port);
  if (bad !== undefined) throw new UsageError(`Invalid JobManager address '${hostPort}': ${bad}.`);
  return `http://${(host as string).toLowerCase()}:${port}`;
}
