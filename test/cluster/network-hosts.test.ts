/**
 * A JobManager and two TaskManagers on three hosts: Linux network namespaces on one bridge, so
 * they have different addresses and talk only over the network (the control and data ports
 * bound to those addresses, hence with the shared secret). A job runs over both TaskManagers;
 * one is then cut off (its link down) while checkpoints run every 300 ms: the job must fail
 * over to the other TaskManager and commit exactly what a failure-free run commits, and the
 * cut-off TaskManager must register again once its link is back. A peer without the secret is
 * refused.
 */
import { type ChildProcess, execFileSync, spawn } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { expectedTotals, generatedOrders } from '../../examples/expected-totals.ts';
import { committedLines, waitFor } from '../support/cluster-probes.ts';
import { type TestNetwork, createTestNetwork } from '../support/netns.ts';
import { ROOT } from '../support/run-flink.ts';
import { tempDir } from '../support/temp-dir.ts';

const FLINK = join(ROOT, 'bin', 'flink.js');
const JOB = join(ROOT, 'examples', 'order-totals.ts');
const RECORDS = 60_000;
const SEED = 42;
const SECRET = 'netns-test-secret';
const TIMEOUT = 180_000;

let network: TestNetwork;
let dir: { path: string; remove: () => Promise<void> };
const processes: ChildProcess[] = [];
const logs = new Map<string, string>();

function start(name: string, argv: readonly string[]): ChildProcess {
  const child = spawn(argv[0]!, argv.slice(1), { stdio: ['ignore', 'pipe', 'pipe'], cwd: dir.path });
  logs.set(name, '');
  const append = (d: Buffer): void => void logs.set(name, logs.get(name)! + d.toString());
  child.stdout!.on('data', append);
  child.stderr!.on('data', append);
  processes.push(child);
  return child;
}

const common = (): string[] => ['-D', `security.network.shared-secret=${SECRET}`, '-D', 'heartbeat.interval=200ms', '-D', 'heartbeat.timeout=3s', '-D', 'taskmanager.network.heartbeat-timeout=2s'];

/** The JobManager's REST API, asked from inside its host (the test's own namespace has no route there). */
function rest<T>(path: string): T | undefined {
  const [jm] = network.hosts;
  const script = `fetch(${JSON.stringify(`http://${jm!.address}:8081${path}`)}).then(r => r.ok ? r.text() : '').then(t => process.stdout.write(t), () => undefined)`;
  const argv = jm!.exec([process.execPath, '-e', script]);
  const text = execFileSync(argv[0]!, argv.slice(1), { encoding: 'utf8' });
  return text === '' ? undefined : (JSON.parse(text) as T);
}

function flink(args: readonly string[]): { code: number; stdout: string; stderr: string } {
  const [jm] = network.hosts;
  // -m before the job file: what follows it is the job's own arguments.
  const argv = jm!.exec([process.execPath, FLINK, args[0]!, '-m', `${jm!.address}:8081`, ...args.slice(1)]);
  try {
    return { code: 0, stdout: execFileSync(argv[0]!, argv.slice(1), { encoding: 'utf8', cwd: dir.path }), stderr: '' };
  } catch (err) {
    const e = err as { status: number; stdout: string; stderr: string };
    return { code: e.status, stdout: String(e.stdout), stderr: String(e.stderr) };
  }
}

beforeAll(async () => {
  dir = await tempDir('tsflink-netns-');
  network = createTestNetwork(3);
  const [jm, tm1, tm2] = network.hosts;
  start('jobmanager', jm!.exec([process.execPath, FLINK, 'jobmanager', '-D', `rest.address=${jm!.address}`, '-D', 'rest.port=8081', '-D', `process.jobmanager.working-dir=${join(dir.path, 'jm')}`, '-D', 'cluster.evenly-spread-out-slots=true', '-D', 'taskmanager.count=0', ...common()]));
  await waitFor('the JobManager', async () => (rest('/overview') === undefined ? undefined : true), 60_000, 300);
  for (const [name, host] of [['tm1', tm1!], ['tm2', tm2!]] as const) {
    start(name, host.exec([process.execPath, FLINK, 'taskmanager', '-m', `${jm!.address}:8081`, '-D', `taskmanager.bind-host=${host.address}`, '-D', 'taskmanager.numberOfTaskSlots=2', '-D', `blob.storage.directory=${join(dir.path, 'tm-blobs')}`, ...common()]));
  }
  await waitFor('two TaskManagers', async () => (rest<{ taskmanagers: number }>('/overview')?.taskmanagers === 2 ? true : undefined), 60_000, 300);
}, TIMEOUT);

afterAll(async () => {
  for (const p of processes) p.kill('SIGKILL');
  network?.remove();
  await dir?.remove();
});

describe('a cluster over three network hosts', () => {
  it('registers TaskManagers by their own addresses', () => {
    const tms = rest<{ taskmanagers: { path: string }[] }>('/taskmanagers')!.taskmanagers.map((t) => t.path.replace(/:\d+$/, '')).sort();
    expect(tms).toEqual([`tsflink://${network.hosts[1]!.address}`, `tsflink://${network.hosts[2]!.address}`]);
  });

  it(
    'a TaskManager cut off while checkpoints run: the job fails over to the other one and commits exactly once',
    async () => {
      const out = join(dir.path, 'out');
      const release = `${out}.end-of-input`;
      const submitted = flink(['run', '-d', '-p', '2', '-D', 'execution.checkpointing.interval=300ms', '-D', `execution.checkpointing.dir=${join(dir.path, 'checkpoints')}`, '-D', 'restart-strategy.type=fixed-delay', '-D', 'restart-strategy.fixed-delay.delay=500 ms', '-D', 'restart-strategy.fixed-delay.attempts=20', ...common(),
        JOB, '--output', out, '--records', String(RECORDS), '--rate', '8000', '--seed', String(SEED), '--hold-until', release]);
      expect(submitted.code, submitted.stderr).toBe(0);
      const id = /JobID ([0-9a-f]{32})/.exec(submitted.stdout)![1]!;
      await waitFor('2 checkpoints and committed output', async () => ((rest<{ counts: { completed: number } }>(`/jobs/${id}/checkpoints`)?.counts.completed ?? 0) >= 2 && (await committedLines(out)).length > 0 ? true : undefined), 90_000, 300);
      // One slot in each TaskManager (spread out): cutting one off takes half the job with it.
      expect(rest<{ taskmanagers: { freeSlots: number }[] }>('/taskmanagers')!.taskmanagers.map((t) => t.freeSlots)).toEqual([1, 1]);
      const cut = network.hosts[2]!;
      cut.setLink(false);
      await waitFor('a restart', async () => ((rest<{ 'num-restarts'?: number }>(`/jobs/${id}`)?.['num-restarts'] ?? 0) >= 1 ? true : undefined), 60_000, 300);
      writeFileSync(release, '');
      await waitFor('the job to finish', async () => {
        const state = rest<{ state: string }>(`/jobs/${id}`)?.state;
        if (state === 'FAILED' || state === 'CANCELED') throw new Error(`job ${id} ended ${state}: ${logs.get('jobmanager')}`);
        return state === 'FINISHED' ? true : undefined;
      }, 90_000, 300);
      expect((await committedLines(out)).sort()).toEqual([...expectedTotals(generatedOrders(RECORDS, SEED))].sort());
      // Back on the network, the cut-off TaskManager registers again (the JobManager had dropped it).
      cut.setLink(true);
      await waitFor('the TaskManager to register again', async () => (rest<{ taskmanagers: number }>('/overview')?.taskmanagers === 2 ? true : undefined), 60_000, 300);
    },
    TIMEOUT,
  );

  it('refuses a TaskManager connection without the shared secret', async () => {
    const [jm, tm1] = network.hosts;
    const port = rest<{ taskmanagers: { path: string; dataPort: number }[] }>('/taskmanagers')!.taskmanagers.find((t) => t.path.includes(tm1!.address))!.dataPort;
    const script = `import(${JSON.stringify(join(ROOT, 'src', 'engine', 'network', 'tcp-mux.ts'))}).then(m => m.connectTcpMux({ endpointId: 'intruder', host: ${JSON.stringify(tm1!.address)}, port: ${port} })).then(() => console.log('accepted'), (e) => console.log('refused: ' + e.message))`;
    const argv = jm!.exec([process.execPath, '--import', join(ROOT, 'bin', 'register-loaders.js'), '-e', script]);
    const answer = execFileSync(argv[0]!, argv.slice(1), { encoding: 'utf8' }).trim();
    expect(answer).toMatch(/^refused: .*shared secret/);
  });
});
