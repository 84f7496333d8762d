import type { TaskManagerRegistration } from './taskmanager/task-manager-registry.ts';
import { afterAll, beforeAll, beforeEach, describe, expect, it, vi } from 'vitest';
import { UserError } from '../../errors.ts';
import { ApiError, BadRequestError, ConflictError, NotFoundError } from './cluster-api.ts';
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
  SavepointTriggerRequest,
  StopRequest,
  SubmitRequest,
  TriggerResponse,
} from './cluster-api.ts';
import { clusterAnswers, RestClient } from './rest-client.ts';
import { startRestServer } from './rest-server.ts';
import type { RestServer } from './rest-server.ts';

const JOB = '3f2a9c0d1e4b5a6978c0d1e2f3a4b5c6';
const TRIGGER = 'a1b2c3d4e5f60718293a4b5c6d7e8f90';

const checkpoint: CheckpointDetails = {
  id: 7,
  status: 'COMPLETED',
  is_savepoint: false,
  checkpoint_type: 'CHECKPOINT',
  trigger_timestamp: 1_700_000_010_000,
  latest_ack_timestamp: 1_700_000_010_250,
  state_size: 40_960,
  checkpointed_size: 4096,
  end_to_end_duration: 250,
  external_path: 's3://bucket/cp/3f2a9c/chk-7',
  discarded: false,
  tasks: {},
};

const checkpointDetails: CheckpointDetails = {
  ...checkpoint,
  tasks: {
    cbc357ccb763df2852fee8c4fc7d55f2: {
      id: 7,
      status: 'COMPLETED',
      latest_ack_timestamp: 1_700_000_010_250,
      checkpointed_size: 4096,
      state_size: 40_960,
      end_to_end_duration: 250,
      alignment_buffered: 0,
      processed_data: 0,
      persisted_data: 0,
      num_subtasks: 1,
      num_acknowledged_subtasks: 1,
    },
  },
};

const ZERO_SUMMARY = { min: 0, max: 0, avg: 0, p50: 0, p90: 0, p95: 0, p99: 0, p999: 0 };
const SYNC_SUMMARY = { min: 3, max: 3, avg: 3, p50: 3, p90: 3, p95: 3, p99: 3, p999: 3 };
const subtaskDetails: TaskCheckpointDetails = {
  id: 7,
  status: 'COMPLETED',
  latest_ack_timestamp: 1_700_000_000_120,
  checkpointed_size: 4096,
  state_size: 4096,
  end_to_end_duration: 120,
  alignment_buffered: 0,
  processed_data: 0,
  persisted_data: 0,
  num_subtasks: 1,
  num_acknowledged_subtasks: 1,
  summary: {
    checkpointed_size: ZERO_SUMMARY,
    state_size: ZERO_SUMMARY,
    end_to_end_duration: ZERO_SUMMARY,
    checkpoint_duration: { sync: SYNC_SUMMARY, async: ZERO_SUMMARY },
    alignment: { buffered: ZERO_SUMMARY, processed: ZERO_SUMMARY, persisted: ZERO_SUMMARY, duration: ZERO_SUMMARY },
    start_delay: ZERO_SUMMARY,
  },
  subtasks: [
    {
      index: 0,
      status: 'completed',
      ack_timestamp: 1_700_000_000_120,
      end_to_end_duration: 120,
      state_size: 4096,
      checkpointed_size: 4096,
      checkpoint: { sync: 3, async: 110 },
      alignment: { buffered: 0, processed: 0, persisted: 0, duration: 0 },
      start_delay: 0,
      unaligned_checkpoint: false,
      aborted: false,
    },
  ],
};

/** Flink-shaped answers; the round-trip tests expect these back unchanged. */
const REGISTRATION: TaskManagerRegistration = { id: 'tm-1', host: '127.0.0.1', port: 40123, slots: 2, pid: 4321, hardware: { cpuCores: 2, physicalMemory: 1024, freeMemory: 512 } };

const CANNED = {
  exceptions: {
    'root-exception': 'Error: cannot commit /out/.part-0-3.inprogress\n    at commit (file:///jobs/sink.ts:12:11)',
    timestamp: 1700000001000,
    'all-exceptions': [],
    truncated: false,
    exceptionHistory: {
      entries: [
        {
          exceptionName: 'Error',
          stacktrace: 'Error: cannot commit /out/.part-0-3.inprogress\n    at commit (file:///jobs/sink.ts:12:11)',
          timestamp: 1700000001000,
          taskName: 'Window -> Sink: files (2/4)',
          location: null,
          endpoint: null,
          taskManagerId: null,
          failureLabels: {},
          concurrentExceptions: [],
        },
      ],
      truncated: false,
    },
  },
  overview: {
    taskmanagers: 1, 'slots-total': 4, 'slots-available': 3, 'jobs-running': 1, 'jobs-finished': 2, 'jobs-cancelled': 0,
    'jobs-failed': 1, 'flink-version': '2.0.0', pid: 4242, 'working-dir': '/home/me/.tsflink',
  } satisfies ClusterOverview,
  jobsOverview: {
    jobs: [
      {
        jid: JOB, name: 'word count', state: 'RUNNING', 'start-time': 1_700_000_000_000, 'end-time': -1, duration: 60_000, 'last-modification': 1_700_000_000_500,
        tasks: { total: 6, created: 0, scheduled: 0, deploying: 0, running: 6, finished: 0, canceling: 0, canceled: 0, failed: 0, reconciling: 0, initializing: 0 },
      },
    ],
  } satisfies Awaited<ReturnType<ClusterApi['jobsOverview']>>,
  jobs: { jobs: [{ id: JOB, status: 'RUNNING' }] } satisfies Awaited<ReturnType<ClusterApi['jobs']>>,
  job: {
    jid: JOB, name: 'word count', state: 'FAILED', 'start-time': 1, 'end-time': 5, duration: 4, 'last-modification': 5,
    'status-counts': { CREATED: 0, SCHEDULED: 0, DEPLOYING: 0, RUNNING: 0, FINISHED: 0, CANCELING: 0, CANCELED: 0, FAILED: 2, RECONCILING: 0, INITIALIZING: 0 },
    isStoppable: false, now: 6, maxParallelism: 128, timestamps: { CREATED: 1, RUNNING: 2, FAILED: 5 },
    vertices: [{ id: 'cbc357ccb763df2852fee8c4fc7d55f2', name: 'Source: numbers', parallelism: 2, maxParallelism: 128, status: 'FAILED', metrics: { 'read-records': 0, 'write-records': 10 } }],
    'failure-cause': 'java.lang.ArithmeticException: / by zero', 'num-restarts': 3,
  } satisfies JobDetails,
  submit: { jobid: JOB },
  trigger: { 'request-id': TRIGGER } satisfies TriggerResponse,
  savepointStatus: { status: { id: 'COMPLETED' }, operation: { location: 's3://bucket/sp/savepoint-3f2a9c-0123456789ab' } } satisfies AsyncOperation<{ readonly location: string }>,
  checkpointStatus: { status: { id: 'IN_PROGRESS' } } satisfies AsyncOperation<{ readonly checkpointId: number }>,
  checkpoints: {
    counts: { restored: 1, total: 8, in_progress: 0, completed: 7, failed: 1 },
    summary: {
      checkpointed_size: { min: 4096, max: 8192, avg: 5000, p50: 4096, p90: 8192, p95: 8192, p99: 8192, p999: 8192 },
      state_size: { min: 40_960, max: 81_920, avg: 50_000, p50: 40_960, p90: 81_920, p95: 81_920, p99: 81_920, p999: 81_920 },
      end_to_end_duration: { min: 120, max: 900, avg: 250, p50: 230.5, p90: 800, p95: 900, p99: 900, p999: 900 },
    },
    latest: { completed: checkpoint, savepoint: null, failed: null, restored: { id: 3, restore_timestamp: 1_700_000_000_100, is_savepoint: true, external_path: 's3://bucket/sp/x' } },
    history: [checkpoint],
  } satisfies CheckpointStatistics,
  checkpointConfig: {
    mode: 'exactly_once', interval: 10_000, timeout: 600_000, min_pause: 0, max_concurrent: 1,
    externalization: { enabled: true, delete_on_cancellation: false }, state_backend: 'hashmap', checkpoint_storage: 'FileSystemCheckpointStorage',
    unaligned_checkpoints: false, tolerable_failed_checkpoints: 0, aligned_checkpoint_timeout: 0, checkpoints_after_tasks_finish: true,
    state_changelog_enabled: false, periodic: true,
  } satisfies CheckpointConfigInfo,
  plan: {
    plan: {
      jid: JOB, name: 'word count', type: 'STREAMING',
      nodes: [
        { id: 'cbc357ccb763df2852fee8c4fc7d55f2', parallelism: 2, operator: '', operator_strategy: '', description: 'Source: words -> Map', optimizer_properties: {} },
        {
          id: '90bea66de1c231edf33913ecd54406c1', parallelism: 2, operator: '', operator_strategy: '', description: 'Keyed Reduce -> Sink: Sink',
          inputs: [{ num: 0, id: 'cbc357ccb763df2852fee8c4fc7d55f2', ship_strategy: 'HASH', exchange: 'pipelined_bounded' }], optimizer_properties: {},
        },
      ],
    },
  } satisfies JobPlanInfo,
  vertex: {
    id: 'cbc357ccb763df2852fee8c4fc7d55f2', name: 'Source: words -> Map', parallelism: 1, maxParallelism: 128, now: 9,
    subtasks: [
      {
        subtask: 0, status: 'RUNNING', attempt: 0, endpoint: null, 'start-time': 2, 'end-time': -1, duration: 7, 'taskmanager-id': null,
        metrics: { 'read-bytes': 0, 'read-bytes-complete': false, 'write-bytes': 0, 'write-bytes-complete': false, 'read-records': 0, 'read-records-complete': true, 'write-records': 42, 'write-records-complete': true },
      },
    ],
  } satisfies JobVertexDetails,
  dashboardConfig: {
    'refresh-interval': 3000, 'timezone-name': 'UTC', 'timezone-offset': 0, 'flink-version': '0.1.0', 'flink-revision': 'DeadD0d0 @ 1970-01-01T00:00:00+00:00',
    features: { 'web-submit': false, 'web-cancel': true, 'web-rescale': false, 'web-history': false },
  } satisfies DashboardConfiguration,
  jobManagerConfig: [{ key: 'rest.port', value: '8081' }, { key: 's3.secret-key', value: '******' }],
  taskManagers: { taskmanagers: [] } satisfies TaskManagersInfo,
  disposalStatus: {
    status: { id: 'COMPLETED' },
    operation: { 'failure-cause': { class: 'java.io.FileNotFoundException', message: 'No savepoint at /sp.', 'stack-trace': 'FileNotFoundException: ...' } },
  } satisfies AsyncOperation<Record<string, never>>,
};

/** Records every call and answers with CANNED; `failure` makes every call throw it instead. */
class FakeApi implements ClusterApi {
  calls: { method: string; args: unknown[] }[] = [];
  failure: Error | undefined;
  shutdownResult: () => Promise<void> = () => Promise.resolve();

  reset(): void {
    this.calls = [];
    this.failure = undefined;
    this.shutdownResult = () => Promise.resolve();
  }

  private async answer<T>(method: string, args: unknown[], result: T): Promise<T> {
    this.calls.push({ method, args });
    if (this.failure) throw this.failure;
    // A copy, so nothing the server does to the object could make the comparison pass by accident.
    return structuredClone(result);
  }

  overview = () => this.answer('overview', [], CANNED.overview);
  jobsOverview = () => this.answer('jobsOverview', [], CANNED.jobsOverview);
  jobs = () => this.answer('jobs', [], CANNED.jobs);
  job = (jobId: string) => this.answer('job', [jobId], CANNED.job);
  submit = (request: SubmitRequest) => this.answer('submit', [request], CANNED.submit);
  cancel = async (jobId: string) => void (await this.answer('cancel', [jobId], undefined));
  triggerSavepoint = (jobId: string, request: SavepointTriggerRequest) => this.answer('triggerSavepoint', [jobId, request], CANNED.trigger);
  savepointStatus = (jobId: string, triggerId: string) => this.answer('savepointStatus', [jobId, triggerId], CANNED.savepointStatus);
  stop = (jobId: string, request: StopRequest) => this.answer('stop', [jobId, request], CANNED.trigger);
  triggerCheckpoint = (jobId: string, request: CheckpointTriggerRequest) => this.answer('triggerCheckpoint', [jobId, request], CANNED.trigger);
  checkpointStatus = (jobId: string, triggerId: string) => this.answer('checkpointStatus', [jobId, triggerId], CANNED.checkpointStatus);
  checkpoints = (jobId: string) => this.answer('checkpoints', [jobId], CANNED.checkpoints);
  checkpointConfig = (jobId: string) => this.answer('checkpointConfig', [jobId], CANNED.checkpointConfig);
  exceptions = (jobId: string) => this.answer('exceptions', [jobId], CANNED.exceptions);
  checkpointDetails = (jobId: string, checkpointId: number) => this.answer('checkpointDetails', [jobId, checkpointId], checkpointDetails);
  checkpointSubtaskDetails = (jobId: string, checkpointId: number, vertexId: string) => this.answer('checkpointSubtaskDetails', [jobId, checkpointId, vertexId], subtaskDetails);
  plan = (jobId: string) => this.answer('plan', [jobId], CANNED.plan);
  vertex = (jobId: string, vertexId: string) => this.answer('vertex', [jobId, vertexId], CANNED.vertex);
  dashboardConfig = () => this.answer('dashboardConfig', [], CANNED.dashboardConfig);
  jobManagerConfig = () => this.answer('jobManagerConfig', [], CANNED.jobManagerConfig);
  taskManagers = () => this.answer('taskManagers', [], CANNED.taskManagers);
  registerTaskManager = (registration: TaskManagerRegistration): Promise<void> => this.answer('registerTaskManager', [registration], undefined);
  taskManagerHeartbeat = (id: string) => this.answer('taskManagerHeartbeat', [id], id === 'tm-1');
  jobCode = (key: string) => this.answer('jobCode', [key], { code: `// code ${key}` });
  disposeSavepoint = (path: string) => this.answer('disposeSavepoint', [path], CANNED.trigger);
  disposalStatus = (triggerId: string) => this.answer('disposalStatus', [triggerId], CANNED.disposalStatus);
  shutdown = (): Promise<void> => {
    this.calls.push({ method: 'shutdown', args: [] });
    return this.shutdownResult();
  };
}

let api: FakeApi;
let server: RestServer;
let client: RestClient;
const internalErrors: unknown[] = [];

beforeAll(async () => {
  api = new FakeApi();
  server = await startRestServer(api, { bindAddress: '127.0.0.1', port: 0, maxContentLength: 1024 * 1024, onInternalError: (err) => internalErrors.push(err) });
  client = new RestClient(server.url);
});

afterAll(async () => {
  await server.close();
});

beforeEach(() => {
  api.reset();
  internalErrors.length = 0;
});

async function raw(method: string, path: string, body?: string): Promise<{ status: number; json: unknown; type: string | null }> {
  const response = await fetch(`${server.url}${path}`, { method, body });
  return { status: response.status, json: await response.json(), type: response.headers.get('content-type') };
}

describe('REST server and client', () => {
  it('listens on the port it was given and reports the real one', () => {
    expect(server.port).toBeGreaterThan(0);
    expect(server.address).toBe('127.0.0.1');
    expect(server.url).toBe(`http://127.0.0.1:${server.port}`);
  });

  const submit: SubmitRequest = {
    jobFile: '/home/me/jobs/word-count.ts',
    programArgs: ['--input', 'in.txt'],
    parallelism: 4,
    savepointPath: 's3://bucket/savepoints/savepoint-3f2a9c-0123456789ab',
    allowNonRestoredState: true,
    claimMode: 'NO_CLAIM',
    config: { 'state.checkpoints.dir': 's3://bucket/cp', 'execution.checkpointing.interval': '10 s' },
  };

  const cases: { name: string; call: (c: ClusterApi) => Promise<unknown>; args: unknown[]; result: unknown }[] = [
    { name: 'overview', call: (c) => c.overview(), args: [], result: CANNED.overview },
    { name: 'jobsOverview', call: (c) => c.jobsOverview(), args: [], result: CANNED.jobsOverview },
    { name: 'jobs', call: (c) => c.jobs(), args: [], result: CANNED.jobs },
    { name: 'job', call: (c) => c.job(JOB), args: [JOB], result: CANNED.job },
    // The server reads the id as Flink's JobID does, so the api sees it in lower case.
    { name: 'job', call: (c) => c.job(JOB.toUpperCase()), args: [JOB], result: CANNED.job },
    { name: 'submit', call: (c) => c.submit(submit), args: [submit], result: CANNED.submit },
    { name: 'submit', call: (c) => c.submit({ jobFile: '/j.ts', programArgs: [] }), args: [{ jobFile: '/j.ts', programArgs: [] }], result: CANNED.submit },
    { name: 'cancel', call: (c) => c.cancel(JOB), args: [JOB], result: undefined },
    {
      name: 'triggerSavepoint',
      call: (c) => c.triggerSavepoint(JOB, { 'target-directory': 's3://b/sp', 'cancel-job': false, formatType: 'NATIVE' }),
      args: [JOB, { 'target-directory': 's3://b/sp', 'cancel-job': false, formatType: 'NATIVE' }],
      result: CANNED.trigger,
    },
    { name: 'triggerSavepoint', call: (c) => c.triggerSavepoint(JOB, {}), args: [JOB, {}], result: CANNED.trigger },
    { name: 'savepointStatus', call: (c) => c.savepointStatus(JOB, TRIGGER), args: [JOB, TRIGGER], result: CANNED.savepointStatus },
    {
      name: 'stop',
      call: (c) => c.stop(JOB, { targetDirectory: '/tmp/sp', drain: true }),
      args: [JOB, { targetDirectory: '/tmp/sp', drain: true }],
      result: CANNED.trigger,
    },
    { name: 'triggerCheckpoint', call: (c) => c.triggerCheckpoint(JOB, { checkpointType: 'FULL' }), args: [JOB, { checkpointType: 'FULL' }], result: CANNED.trigger },
    { name: 'checkpointStatus', call: (c) => c.checkpointStatus(JOB, TRIGGER), args: [JOB, TRIGGER], result: CANNED.checkpointStatus },
    { name: 'checkpoints', call: (c) => c.checkpoints(JOB), args: [JOB], result: CANNED.checkpoints },
    { name: 'checkpointConfig', call: (c) => c.checkpointConfig(JOB), args: [JOB], result: CANNED.checkpointConfig },
    { name: 'exceptions', call: (c) => c.exceptions(JOB), args: [JOB], result: CANNED.exceptions },
    { name: 'checkpointDetails', call: (c) => c.checkpointDetails(JOB, 7), args: [JOB, 7], result: checkpointDetails },
    {
      name: 'checkpointSubtaskDetails',
      call: (c) => c.checkpointSubtaskDetails(JOB, 7, 'cbc357ccb763df2852fee8c4fc7d55f2'),
      args: [JOB, 7, 'cbc357ccb763df2852fee8c4fc7d55f2'],
      result: subtaskDetails,
    },
    { name: 'plan', call: (c) => c.plan(JOB), args: [JOB], result: CANNED.plan },
    { name: 'vertex', call: (c) => c.vertex(JOB, 'cbc357ccb763df2852fee8c4fc7d55f2'), args: [JOB, 'cbc357ccb763df2852fee8c4fc7d55f2'], result: CANNED.vertex },
    { name: 'dashboardConfig', call: (c) => c.dashboardConfig(), args: [], result: CANNED.dashboardConfig },
    { name: 'jobManagerConfig', call: (c) => c.jobManagerConfig(), args: [], result: CANNED.jobManagerConfig },
    { name: 'taskManagers', call: (c) => c.taskManagers(), args: [], result: CANNED.taskManagers },
    { name: 'registerTaskManager', call: (c) => c.registerTaskManager(REGISTRATION), args: [REGISTRATION], result: undefined },
    { name: 'taskManagerHeartbeat', call: (c) => c.taskManagerHeartbeat('tm-1'), args: ['tm-1'], result: true },
    { name: 'taskManagerHeartbeat', call: (c) => c.taskManagerHeartbeat('tm-unknown'), args: ['tm-unknown'], result: false },
    { name: 'jobCode', call: (c) => c.jobCode('ab'.repeat(32)), args: ['ab'.repeat(32)], result: { code: `// code ${'ab'.repeat(32)}` } },
    { name: 'disposeSavepoint', call: (c) => c.disposeSavepoint('s3://b/sp/savepoint-1'), args: ['s3://b/sp/savepoint-1'], result: CANNED.trigger },
    { name: 'disposalStatus', call: (c) => c.disposalStatus(TRIGGER), args: [TRIGGER], result: CANNED.disposalStatus },
  ];

  for (const { name, call, args, result } of cases) {
    it(`round-trips ${name}(${JSON.stringify(args).slice(1, -1).slice(0, 60)})`, async () => {
      const answer = await call(client);
      expect(answer).toEqual(result);
      expect(api.calls).toEqual([{ method: name, args }]);
    });
  }

  it('answers GET /jobs/:id/checkpoints/config with the config, not as a trigger id', async () => {
    await client.checkpointConfig(JOB);
    expect(api.calls.map((c) => c.method)).toEqual(['checkpointConfig']);
  });

  it('answers with Flink status codes and JSON content type', async () => {
    expect(await raw('GET', '/overview')).toMatchObject({ status: 200, type: 'application/json; charset=UTF-8' });
    expect(await raw('POST', '/jobs', JSON.stringify({ jobFile: '/j.ts' }))).toEqual({ status: 202, json: CANNED.submit, type: 'application/json; charset=UTF-8' });
    expect(await raw('PATCH', `/jobs/${JOB}?mode=cancel`)).toMatchObject({ status: 202, json: {} });
    expect(await raw('POST', `/jobs/${JOB}/stop`, '{}')).toMatchObject({ status: 202, json: CANNED.trigger });
    expect(await raw('POST', '/savepoint-disposal', '{"savepoint-path":"/sp"}')).toMatchObject({ status: 202 });
  });

  it('takes an empty body as {} where every field is optional', async () => {
    expect(await raw('POST', `/jobs/${JOB}/checkpoints`)).toMatchObject({ status: 202, json: CANNED.trigger });
    expect(await raw('POST', `/jobs/${JOB}/savepoints`, '')).toMatchObject({ status: 202 });
    expect(api.calls).toEqual([
      { method: 'triggerCheckpoint', args: [JOB, {}] },
      { method: 'triggerSavepoint', args: [JOB, {}] },
    ]);
    // Absent programArgs means none, as Flink's programArgsList.
    await raw('POST', '/jobs', '{"jobFile":"/j.ts","parallelism":null}');
    expect(api.calls[2]).toEqual({ method: 'submit', args: [{ jobFile: '/j.ts', programArgs: [] }] });
  });

  const errorCases: { thrown: Error; cls: abstract new (...args: never[]) => ApiError; status: number; message: string }[] = [
    { thrown: new NotFoundError(`Job ${JOB} not found.`), cls: NotFoundError, status: 404, message: `Job ${JOB} not found.` },
    { thrown: new BadRequestError('Savepoint path /x does not exist.'), cls: BadRequestError, status: 400, message: 'Savepoint path /x does not exist.' },
    { thrown: new ConflictError('Job is not running.'), cls: ConflictError, status: 409, message: 'Job is not running.' },
    { thrown: new ApiError(503, 'The JobManager is recovering.'), cls: ApiError, status: 503, message: 'The JobManager is recovering.' },
    { thrown: new Error('disk on fire\n    at somewhere'), cls: ApiError, status: 500, message: 'Internal server error: disk on fire' },
    { thrown: new UserError('not an ApiError'), cls: ApiError, status: 500, message: 'Internal server error: not an ApiError' },
  ];

  for (const { thrown, cls, status, message } of errorCases) {
    it(`maps ${thrown.name} ${status} back to ${cls.name}`, async () => {
      api.failure = thrown;
      const err = await client.job(JOB).catch((e: unknown) => e);
      expect(err).toBeInstanceOf(cls);
      expect((err as Error).constructor).toBe(cls);
      expect((err as ApiError).httpStatus).toBe(status);
      expect((err as ApiError).message).toBe(message);
      expect((err as ApiError).exitCode).toBe(1);
      expect(await raw('GET', `/jobs/${JOB}`)).toEqual({ status, json: { errors: [message] }, type: 'application/json; charset=UTF-8' });
      expect(internalErrors.length).toBe(status === 500 ? 2 : 0);
    });
  }

  it("refuses a job, checkpoint or vertex id Flink cannot read with its 400 and message before calling the api", async () => {
    const bad = (key: string, value: string): object => ({ status: 400, json: { errors: [`Bad request, could not parse parameters: Cannot resolve path parameter (${key}) from value "${value}".`] } });
    expect(await raw('GET', '/jobs/nope')).toMatchObject(bad('jobid', 'nope'));
    expect(await raw('POST', `/jobs/${JOB.slice(1)}/savepoints`, '{}')).toMatchObject(bad('jobid', JOB.slice(1)));
    expect(await raw('GET', `/jobs/${JOB.slice(1)}g/checkpoints`)).toMatchObject(bad('jobid', `${JOB.slice(1)}g`));
    expect(await raw('GET', `/jobs/${JOB}/checkpoints/details/latest`)).toMatchObject(bad('checkpointid', 'latest'));
    expect(await raw('GET', `/jobs/${JOB}/checkpoints/details/9223372036854775808`)).toMatchObject(bad('checkpointid', '9223372036854775808'));
    expect(await raw('GET', `/jobs/${JOB}/vertices/source`)).toMatchObject(bad('vertexid', 'source'));
    expect(await raw('GET', `/jobs/${JOB}/checkpoints/details/3/subtasks/source`)).toMatchObject(bad('vertexid', 'source'));
    // The first bad parameter in the path is the one named.
    expect(await raw('GET', '/jobs/nope/checkpoints/details/x/subtasks/y')).toMatchObject(bad('jobid', 'nope'));
    const err = await client.job('nope').catch((e: unknown) => e);
    expect(err).toBeInstanceOf(BadRequestError);
    expect((err as Error).message).toBe('Bad request, could not parse parameters: Cannot resolve path parameter (jobid) from value "nope".');
    expect(api.calls).toEqual([]);
  });

  it('finds a job, checkpoint or vertex id written in any spelling Flink reads', async () => {
    const VERTEX = 'bc764cd8ddf7a0cff126f51c16239658';
    await raw('GET', `/jobs/${JOB.toUpperCase()}x`);
    await raw('GET', `/jobs/-${JOB.slice(1)}/checkpoints/details/+0042`);
    await raw('GET', `/jobs/${JOB}/checkpoints/details/-1/subtasks/${VERTEX.toUpperCase()}`);
    await raw('GET', `/jobs/${JOB}/vertices/${VERTEX}0`);
    expect(api.calls).toEqual([
      { method: 'job', args: [JOB] },
      // '-f' is the byte f1, as Integer.parseInt reads it and Java's byte cast keeps.
      { method: 'checkpointDetails', args: [`f1${JOB.slice(2)}`, 42] },
      { method: 'checkpointSubtaskDetails', args: [JOB, -1, VERTEX] },
      { method: 'vertex', args: [JOB, VERTEX] },
    ]);
  });

  it('refuses a trigger id Flink cannot read with its 400 and message, and finds one it can in any spelling', async () => {
    const bad = (id: string): object => ({ status: 400, json: { errors: [`Bad request, could not parse parameters: Cannot resolve path parameter (triggerid) from value "${id}".`] } });
    expect(await raw('GET', `/jobs/${JOB}/savepoints/abc`)).toMatchObject(bad('abc'));
    expect(await raw('GET', `/jobs/${JOB}/checkpoints/${TRIGGER.slice(1)}`)).toMatchObject(bad(TRIGGER.slice(1)));
    expect(await raw('GET', `/jobs/${JOB}/savepoints/${TRIGGER.slice(0, -1)}g`)).toMatchObject(bad(`${TRIGGER.slice(0, -1)}g`));
    expect(await raw('GET', `/savepoint-disposal/${TRIGGER}00`)).toMatchObject(bad(`${TRIGGER}00`));
    expect(api.calls).toEqual([]);
    // Flink's hexStringToByte: case ignored, a 33rd character dropped, '-f' the byte f1.
    await raw('GET', `/jobs/${JOB}/savepoints/${TRIGGER.toUpperCase()}`);
    await raw('GET', `/savepoint-disposal/${TRIGGER}x`);
    await raw('GET', `/jobs/${JOB}/checkpoints/-f${TRIGGER.slice(2)}`);
    expect(api.calls).toEqual([
      { method: 'savepointStatus', args: [JOB, TRIGGER] },
      { method: 'disposalStatus', args: [TRIGGER] },
      { method: 'checkpointStatus', args: [JOB, `f1${TRIGGER.slice(2)}`] },
    ]);
  });

  it('answers 404 for an unknown path', async () => {
    expect(await raw('GET', '/nope/deeper?x=1')).toEqual({ status: 404, json: { errors: ['Not found: /nope/deeper'] }, type: 'application/json; charset=UTF-8' });
    expect(await raw('GET', `/jobs/${JOB}/vertices`)).toMatchObject({ status: 404 });
  });

  it('answers 405 for a known path with a wrong method', async () => {
    expect(await raw('PUT', '/jobs')).toMatchObject({ status: 405, json: { errors: ['Method PUT is not allowed for /jobs'] } });
    expect(await raw('GET', `/jobs/${JOB}/stop`)).toMatchObject({ status: 405, json: { errors: [`Method GET is not allowed for /jobs/${JOB}/stop`] } });
    expect(await raw('POST', '/jobs/overview', '{}')).toMatchObject({ status: 405 });
    expect(await raw('GET', '/cluster')).toMatchObject({ status: 405 });
    expect(api.calls).toEqual([]);
  });

  it('answers 400 for a body that is not JSON or not an object', async () => {
    const notJson = await raw('POST', '/jobs', '{"jobFile": ');
    expect(notJson.status).toBe(400);
    expect((notJson.json as { errors: string[] }).errors[0]).toMatch(/^Request body is not valid JSON: /);
    expect(await raw('POST', '/jobs', '["/j.ts"]')).toMatchObject({ status: 400, json: { errors: ['Request body must be a JSON object.'] } });
    expect(api.calls).toEqual([]);
  });

  // The full table of field checks is in rest-validation.test.ts; these show they reach HTTP as 400.
  const badBodies: [path: string, body: unknown, message: string][] = [
    ['/jobs', { jobFile: '/j.ts', parallelism: '4' }, 'Field \'parallelism\' must be a positive integer, got "4".'],
    [`/jobs/${JOB}/savepoints`, { 'cancel-job': 'yes' }, 'Field \'cancel-job\' must be a boolean, got "yes".'],
    [`/jobs/${JOB}/stop`, { drain: 1 }, "Field 'drain' must be a boolean, got 1."],
    [`/jobs/${JOB}/checkpoints`, { checkpointType: 'SAVEPOINT' }, 'Field \'checkpointType\' must be one of "FULL", "INCREMENTAL", "CONFIGURED", got "SAVEPOINT".'],
    ['/savepoint-disposal', {}, "Field 'savepoint-path' is required."],
  ];

  for (const [path, body, message] of badBodies) {
    it(`answers 400 for POST ${path.replace(JOB, ':id')} ${JSON.stringify(body)}`, async () => {
      expect(await raw('POST', path, JSON.stringify(body))).toMatchObject({ status: 400, json: { errors: [message] } });
      expect(api.calls).toEqual([]);
    });
  }

  it('answers 413 for a body over rest.server.max-content-length (1 MiB here) and still serves the next request', async () => {
    const big = JSON.stringify({ jobFile: '/j.ts', programArgs: ['x'.repeat(1024 * 1024)] });
    expect(await raw('POST', '/jobs', big)).toMatchObject({ status: 413, json: { errors: ['Request body too large: the limit is 1048576 bytes (rest.server.max-content-length).'] } });
    expect(api.calls).toEqual([]);
    const justUnder = JSON.stringify({ jobFile: '/j.ts', programArgs: ['x'.repeat(1024 * 1024 - 40)] });
    expect(await raw('POST', '/jobs', justUnder)).toMatchObject({ status: 202 });
  });

  it('refuses cancel without mode=cancel', async () => {
    expect(await raw('PATCH', `/jobs/${JOB}`)).toMatchObject({ status: 400, json: { errors: ["Query parameter 'mode' is required: use mode=cancel."] } });
    expect(await raw('PATCH', `/jobs/${JOB}?mode=stop`)).toMatchObject({ status: 400, json: { errors: ["Invalid mode 'stop': the only mode is 'cancel'."] } });
    expect(api.calls).toEqual([]);
  });

  it('answers DELETE /cluster before shutting down', async () => {
    // As the JobManager does: shutdown closes the REST server and never returns to the request.
    const own = new FakeApi();
    const ownServer = await startRestServer(own, { bindAddress: '127.0.0.1', port: 0 });
    let closed: Promise<void> | undefined;
    own.shutdownResult = () => {
      closed = ownServer.close();
      return new Promise(() => {});
    };
    await expect(new RestClient(ownServer.url).shutdown()).resolves.toBeUndefined();
    await vi.waitFor(() => expect(own.calls).toEqual([{ method: 'shutdown', args: [] }]));
    await closed;
    expect(await clusterAnswers(ownServer.url)).toBe(false);
  });

  it('reports a failed shutdown to onInternalError after answering 202', async () => {
    api.shutdownResult = () => Promise.reject(new Error('could not stop'));
    expect(await raw('DELETE', '/cluster')).toMatchObject({ status: 202, json: {} });
    await vi.waitFor(() => expect((internalErrors[0] as Error | undefined)?.message).toBe('could not stop'));
  });

  it('refuses a second server on the same port with the port-in-use message', async () => {
    const err = await startRestServer(api, { bindAddress: '127.0.0.1', port: server.port }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(UserError);
    expect((err as UserError).message).toBe(
      `Could not start the REST server on 127.0.0.1:${server.port}: the port is in use. Stop the process that uses it, or choose another port with -D rest.port=<port>.`,
    );
    expect((err as UserError).exitCode).toBe(1);
  });

  it('reports other listen errors in one line with exit code 1', async () => {
    const err = await startRestServer(api, { bindAddress: '127.0.0.1', port: 70000 }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(UserError);
    expect((err as UserError).message).toBe(
      'Could not start the REST server on 127.0.0.1:70000: the port must be between 0 and 65535. Choose another with -D rest.port=<port>.',
    );
    expect((err as UserError).exitCode).toBe(1);
  });
});
