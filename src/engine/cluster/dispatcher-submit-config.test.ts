import { mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Dispatcher } from './dispatcher.ts';
import { JobStore } from './job-store.ts';
import { type RestServer, startRestServer } from './rest-server.ts';

// A job submitted over REST by a client other than the CLI: the JobManager checks its keys as the CLI does.
describe('POST /jobs checks the submitted configuration before the job is created', () => {
  let dir: string;
  let dispatcher: Dispatcher;
  let server: RestServer;
  const internal: unknown[] = [];

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'tsflink-submit-config-'));
    dispatcher = new Dispatcher({
      store: new JobStore(dir),
      workingDirectory: dir,
      logDirectory: join(dir, 'log'),
      // Never started: every submission here is refused before a JobMaster exists.
      jobMasterEntry: join(dir, 'no-jobmaster.js'),
      config: { 'execution.checkpointing.interval': '10 s', 'execution.checkpointing.local-backup.enabled': 'true' },
      storeOptions: {},
      log: () => undefined,
      onShutdown: () => undefined,
    });
    server = await startRestServer(dispatcher, { bindAddress: '127.0.0.1', port: 0, onInternalError: (err) => internal.push(err) });
  });

  afterAll(async () => {
    await server.close();
    await dispatcher.close();
    rmSync(dir, { recursive: true, force: true });
  });

  const submit = async (config: Record<string, string>): Promise<{ status: number; body: unknown }> => {
    // Any file the JobManager can read: the configuration is refused before the job's code is loaded.
    const res = await fetch(`${server.url}/jobs`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ jobFile: import.meta.filename, config }) });
    return { status: res.status, body: await res.json() };
  };

  it.each([
    ['a refused key', { 'task.cancellation.interval': '30 s' }, /^task\.cancellation\.interval: tsflink does not implement this key; .*task\.cancellation\.timeout/],
    ['a refused key of the rocksdb family', { 'state.backend.rocksdb.block.cache-size': '64 mb' }, /^state\.backend\.rocksdb\.block\.cache-size: tsflink does not implement this key; .*state\.backend\.embedded\.cache-size/],
    ['a typo of a known key', { 'execution.checkpointing.intervall': '5 s' }, /^execution\.checkpointing\.intervall: not a key tsflink knows; did you mean execution\.checkpointing\.interval\?/],
    ['a malformed value', { 'execution.checkpointing.interval': 'banana' }, /^execution\.checkpointing\.interval: /],
    ['a bad restart strategy', { 'restart-strategy.type': 'sometimes' }, /^restart-strategy\.type: /],
  ])('%s: 400 with Flink\'s {"errors": [...]} naming the key, and no job', async (_, config, line) => {
    const { status, body } = await submit(config);
    expect(status).toBe(400);
    expect(body).toEqual({ errors: [expect.stringMatching(line)] });
    expect(await dispatcher.jobs()).toEqual({ jobs: [] });
    expect(readdirSync(join(dir, 'jobs'), { recursive: true })).toEqual([]);
    expect(internal).toEqual([]);
  });

  it('a combination that is only wrong over the cluster configuration is refused too', async () => {
    // The cluster keeps local copies; a job that would not read them is refused, as the CLI refuses both keys together.
    const { status, body } = await submit({ 'execution.state-recovery.from-local': 'false' });
    expect(status).toBe(400);
    expect(body).toEqual({ errors: [expect.stringMatching(/^execution\.state-recovery\.from-local: false with execution\.checkpointing\.local-backup\.enabled: true is not supported/)] });
    expect(readdirSync(join(dir, 'jobs'), { recursive: true })).toEqual([]);
  });
});
