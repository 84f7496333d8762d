/**
 * deploy/kubernetes/ checked against tsflink itself: the configuration registry and loader, and
 * the real `flink` CLI's flags (its `--help`, run as a user would). No cluster runs here; each
 * negative case changes one thing in the parsed manifests and expects the checker to name it.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { expectedTotals, generatedOrders } from '../examples/expected-totals.ts';
import { committedLines, waitFor } from './support/cluster-probes.ts';
import { type ManifestSet, type Obj, JOB_MANAGER, SERVICE, TASK_MANAGER, CONFIG_MAP, checkManifests, containerCommand, find, loadManifests, optionsInHelp, replicas } from './support/kubernetes-manifests.ts';
import { ROOT, runFlink } from './support/run-flink.ts';
import { type S3TestServer, startS3Server } from './support/s3-server.ts';
import { tempDir } from './support/temp-dir.ts';
import { freePort } from './support/test-cluster.ts';

const DIR = join(ROOT, 'deploy', 'kubernetes');
const help = new Map<string, string>();
const helpFor = (command: string): string | undefined => help.get(command);

beforeAll(async () => {
  for (const command of ['jobmanager', 'taskmanager']) {
    const result = await runFlink([command, '--help']);
    expect(result.code, result.stderr).toBe(0);
    help.set(command, result.stdout);
  }
}, 60_000);

function manifests(): ManifestSet {
  return loadManifests(DIR);
}

/** The (only) container of a Deployment, to change in place. */
function container(set: ManifestSet, name: string): Obj {
  const spec = find(set, 'Deployment', name)!.doc.spec as { template: { spec: { containers: Obj[] } } };
  return spec.template.spec.containers[0]!;
}

function args(set: ManifestSet, name: string): string[] {
  return container(set, name).args as string[];
}

function setConfigYaml(set: ManifestSet, change: (text: string) => string): void {
  const data = find(set, 'ConfigMap', CONFIG_MAP)!.doc.data as Record<string, string>;
  data['config.yaml'] = change(data['config.yaml']!);
}

describe('deploy/kubernetes', () => {
  it('has the files of Flink\'s standalone Kubernetes layout', () => {
    const set = manifests();
    expect(set.manifests.map((m) => `${m.file}: ${m.doc.kind as string}/${(m.doc.metadata as Obj).name as string}`)).toEqual([
      'flink-configuration-configmap.yaml: ConfigMap/flink-config',
      'jobmanager-service.yaml: Service/flink-jobmanager',
      'jobmanager-session-deployment.yaml: Deployment/flink-jobmanager',
      'taskmanager-session-deployment.yaml: Deployment/flink-taskmanager',
    ]);
    expect((find(set, 'Deployment', TASK_MANAGER)!.doc.spec as Obj).replicas).toBe(2);
  });

  it('the CLI has the flags the containers use', () => {
    expect([...optionsInHelp(help.get('taskmanager')!).keys()]).toEqual(expect.arrayContaining(['-m', '--jobmanager', '-D', '--define']));
    expect(optionsInHelp(help.get('taskmanager')!).get('-m')).toEqual({ long: '--jobmanager', takesValue: true });
  });

  it('fit together and fit tsflink: no problems', () => {
    expect(checkManifests(manifests(), helpFor)).toEqual([]);
  });

  it('reports a misspelled key in config.yaml', () => {
    const set = manifests();
    setConfigYaml(set, (t) => t.replace('numberOfTaskSlots: 2', 'numberOfTaskSlot: 2'));
    expect(checkManifests(set, helpFor)).toEqual(["flink-configuration-configmap.yaml: config.yaml: 'taskmanager.numberOfTaskSlot' is not a configuration key of tsflink"]);
  });

  it('reports a misspelled -D key in container args', () => {
    const set = manifests();
    const a = args(set, TASK_MANAGER);
    a[a.indexOf('taskmanager.host=$(POD_IP)')] = 'taskmanager.hostname=$(POD_IP)';
    expect(checkManifests(set, helpFor)).toEqual([
      "taskmanager-session-deployment.yaml (taskmanager): -D taskmanager.hostname=$(POD_IP): 'taskmanager.hostname' is not a configuration key of tsflink",
      "taskmanager-session-deployment.yaml: taskmanager.host is '(unset)', not the pod's IP (-D taskmanager.host=$(POD_IP) with POD_IP from status.podIP); other pods could not reach a TaskManager bound to 0.0.0.0",
    ]);
  });

  it('reports a value the registry refuses, as flink would when the pod starts', () => {
    const set = manifests();
    setConfigYaml(set, (t) => t.replace('interval: 10 s', 'interval: 10 fortnights'));
    const problems = checkManifests(set, helpFor);
    expect(problems).toHaveLength(2);
    expect(problems[0]).toMatch(/^jobmanager-session-deployment\.yaml \(jobmanager\): execution\.checkpointing\.interval: '10 fortnights' is not a duration/);
    expect(problems[1]).toMatch(/^taskmanager-session-deployment\.yaml \(taskmanager\): execution\.checkpointing\.interval: '10 fortnights'/);
  });

  it('reports rest.port that the ports do not follow', () => {
    const set = manifests();
    setConfigYaml(set, (t) => t.replace('port: 8081', 'port: 8082'));
    expect(checkManifests(set, helpFor)).toEqual([
      "jobmanager-session-deployment.yaml: container port 'rest' is 8081, rest.port is 8082",
      "jobmanager-service.yaml: port 'rest' is 8081, rest.port is 8082",
    ]);
  });

  it('reports a TaskManager pointed elsewhere than the Service, and a flag the CLI lacks', () => {
    const set = manifests();
    const a = args(set, TASK_MANAGER);
    a[a.indexOf('flink-jobmanager:8081')] = 'jobmanager:8081';
    a.push('--slots', '4', 'job.ts');
    expect(checkManifests(set, helpFor)).toEqual([
      "taskmanager-session-deployment.yaml (taskmanager): 'flink taskmanager --help' lists no option --slots",
      "taskmanager-session-deployment.yaml (taskmanager): 'flink taskmanager' takes no argument '4'",
      "taskmanager-session-deployment.yaml (taskmanager): 'flink taskmanager' takes no argument 'job.ts'",
      "taskmanager-session-deployment.yaml: -m is 'jobmanager:8081', not the Service flink-jobmanager:8081",
    ]);
  });

  it('reports a Service that selects the TaskManagers too, and a Deployment that selects nothing it makes', () => {
    const set = manifests();
    delete ((find(set, 'Service', SERVICE)!.doc.spec as Obj).selector as Obj).component;
    ((find(set, 'Deployment', JOB_MANAGER)!.doc.spec as Obj).selector as { matchLabels: Obj }).matchLabels.component = 'job-manager';
    expect(checkManifests(set, helpFor)).toEqual([
      'jobmanager-session-deployment.yaml: spec.selector.matchLabels does not select the pod template\'s labels',
      'jobmanager-service.yaml: the Service selects TaskManager pods too',
    ]);
  });

  it('reports Flink\'s rpc port, which tsflink has not', () => {
    const set = manifests();
    ((find(set, 'Service', SERVICE)!.doc.spec as Obj).ports as Obj[]).push({ name: 'rpc', port: 6123 });
    expect(checkManifests(set, helpFor)).toEqual(["jobmanager-service.yaml: port 'rpc' (6123) is no port tsflink listens on"]);
  });

  it('reports a shared secret written into the manifests instead of taken from a Secret', () => {
    const set = manifests();
    const a = args(set, TASK_MANAGER);
    a[a.indexOf('security.network.shared-secret=$(FLINK_NETWORK_SECRET)')] = 'security.network.shared-secret=0123456789abcdef0123';
    setConfigYaml(set, (t) => `${t}security.network.shared-secret: 0123456789abcdef0123\n`);
    expect(checkManifests(set, helpFor)).toEqual([
      'flink-configuration-configmap.yaml: security.network.shared-secret belongs in a Secret, not in the ConfigMap',
      'taskmanager: security.network.shared-secret must be -D security.network.shared-secret=$(VAR) with VAR from a secretKeyRef',
    ]);
  });

  it('reports a bind host in config.yaml: the JobManager and flink run would need the secret to load it', () => {
    const set = manifests();
    const jm = args(set, JOB_MANAGER);
    jm.splice(jm.indexOf('-D'), 2);
    setConfigYaml(set, (t) => `${t}taskmanager.bind-host: 0.0.0.0\n`);
    const problems = checkManifests(set, helpFor);
    expect(problems[0]).toBe('jobmanager-session-deployment.yaml (jobmanager): refusing to bind the data port to 0.0.0.0 without a shared secret: set security.network.shared-secret on every TaskManager, or bind to 127.0.0.1 (taskmanager.bind-host)');
  });

  it('reports an env var the container does not define, and a config directory that is not the mount', () => {
    const set = manifests();
    const c = container(set, TASK_MANAGER);
    c.env = (c.env as Obj[]).filter((e) => e.name !== 'POD_IP').map((e) => (e.name === 'FLINK_CONF_DIR' ? { ...e, value: '/opt/flink/conf' } : e));
    expect(checkManifests(set, helpFor)).toEqual([
      'taskmanager-session-deployment.yaml (taskmanager): FLINK_CONF_DIR is not the ConfigMap\'s mount path /opt/tsflink/conf',
      'taskmanager-session-deployment.yaml (taskmanager): $(POD_IP) is not an env var of the container (Kubernetes would pass it literally)',
      "taskmanager-session-deployment.yaml: taskmanager.host is '$(POD_IP)', not the pod's IP (-D taskmanager.host=$(POD_IP) with POD_IP from status.podIP); other pods could not reach a TaskManager bound to 0.0.0.0",
    ]);
  });

  it('reports checkpoints on a path only one pod has', () => {
    const set = manifests();
    setConfigYaml(set, (t) => t.replace('dir: s3://tsflink/checkpoints', 'dir: /var/lib/tsflink/shared/checkpoints'));
    expect(checkManifests(set, helpFor)).toEqual([
      'jobmanager: execution.checkpointing.dir /var/lib/tsflink/shared/checkpoints is neither s3:// nor on a PersistentVolumeClaim mounted in the pod',
      'taskmanager: execution.checkpointing.dir /var/lib/tsflink/shared/checkpoints is neither s3:// nor on a PersistentVolumeClaim mounted in the pod',
    ]);
  });
});

/**
 * The containers' own commands, run here as their pods would run them: the ConfigMap's
 * config.yaml as FLINK_CONF_DIR, the Secret and pod IP given as Kubernetes would expand them.
 * Only what cannot be the same on a shared machine is changed: the REST port and the data port
 * (a free one each), the working directory, the TaskManagers' cache of job code, and the Service
 * name in -m (no DNS here). The
 * checkpoint bucket is an s3rver, reached through the AWS variables the Secret tsflink-s3 gives.
 */
describe('the containers\' commands, run on this machine', () => {
  const processes: ChildProcess[] = [];
  const logs: string[] = [];
  let dir: Awaited<ReturnType<typeof tempDir>>;
  let port = 0;
  let s3: S3TestServer;

  function start(argv: readonly string[], confDir: string): void {
    const child = spawn(process.execPath, [join(ROOT, 'bin', 'flink.js'), ...argv], { cwd: dir.path, env: { ...process.env, ...s3.env, FLINK_CONF_DIR: confDir, NO_COLOR: '1' }, stdio: ['ignore', 'pipe', 'pipe'] });
    const index = logs.push('') - 1;
    child.stdout.on('data', (d: Buffer) => void (logs[index] += d.toString()));
    child.stderr.on('data', (d: Buffer) => void (logs[index] += d.toString()));
    processes.push(child);
  }

  async function rest<T>(path: string): Promise<T | undefined> {
    try {
      const response = await fetch(`http://127.0.0.1:${port}${path}`);
      return response.ok ? ((await response.json()) as T) : undefined;
    } catch {
      return undefined;
    }
  }

  beforeAll(async () => {
    dir = await tempDir('tsflink-k8s-run-');
    s3 = await startS3Server();
    await s3.createBucket('tsflink');
    port = await freePort();
    const set = manifests();
    const confDir = join(dir.path, 'conf');
    mkdirSync(confDir);
    writeFileSync(join(confDir, 'config.yaml'), (find(set, 'ConfigMap', CONFIG_MAP)!.doc.data as Record<string, string>)['config.yaml']!);
    const given = { FLINK_NETWORK_SECRET: 'a-secret-the-test-made-up-0123', POD_IP: '127.0.0.2' };
    start([...containerCommand(set, JOB_MANAGER, given), '-D', `rest.port=${port}`, '-D', `process.jobmanager.working-dir=${join(dir.path, 'jm')}`], confDir);
    const tm = containerCommand(set, TASK_MANAGER, given);
    tm[tm.indexOf('flink-jobmanager:8081')] = `127.0.0.1:${port}`;
    // Their caches of job code go into the test's directory: a SIGKILLed TaskManager cannot remove its own.
    for (let i = 0; i < replicas(set, TASK_MANAGER); i++) start([...tm, '-D', 'taskmanager.data.port=0', '-D', `blob.storage.directory=${join(dir.path, 'tm-blobs')}`], confDir);
  }, 60_000);

  afterAll(async () => {
    for (const p of processes) p.kill('SIGKILL');
    await s3?.stop();
    await dir?.remove();
  });

  it('start, and every TaskManager registers its slots under the pod IP it was given', async () => {
    const overview = await waitFor('both TaskManagers to register', async () => {
      const o = await rest<{ taskmanagers: number; 'slots-total': number }>('/overview');
      return o !== undefined && o.taskmanagers === 2 ? o : undefined;
    }, 120_000, 200).catch((err: unknown) => {
      throw new Error(`${String(err)}\n${logs.join('\n---\n')}`);
    });
    expect(overview['slots-total']).toBe(4);
    const tms = (await rest<{ taskmanagers: { path: string; slotsNumber: number }[] }>('/taskmanagers'))!.taskmanagers;
    expect(tms.map((t) => [t.path.replace(/:\d+$/u, ''), t.slotsNumber])).toEqual([['tsflink://127.0.0.2', 2], ['tsflink://127.0.0.2', 2]]);
  }, 150_000);

  it('run the README\'s job: checkpoints go to the bucket of config.yaml, the output is exactly the expected totals', async () => {
    const out = join(dir.path, 'totals');
    const release = join(dir.path, 'release');
    const confDir = join(dir.path, 'conf');
    const submitted = await runFlink(['run', '-d', '-p', '2', '-m', `127.0.0.1:${port}`, join(ROOT, 'examples', 'order-totals.ts'), '--output', out, '--records', '2000', '--rate', '1000', '--seed', '7', '--hold-until', release], { cwd: dir.path, env: { ...s3.env, FLINK_CONF_DIR: confDir } });
    expect(submitted.code, submitted.stderr).toBe(0);
    const id = /JobID ([0-9a-f]{32})/u.exec(submitted.stdout)![1]!;
    const checkpoint = await waitFor('a completed checkpoint', async () => {
      const c = await rest<{ latest: { completed: { external_path: string } | null } }>(`/jobs/${id}/checkpoints`);
      return c?.latest.completed ?? undefined;
    }, 120_000, 200).catch((err: unknown) => {
      throw new Error(`${String(err)}\n${logs.join('\n---\n')}`);
    });
    expect(checkpoint.external_path).toMatch(new RegExp(`^s3://tsflink/checkpoints/${id}/chk-\\d+$`, 'u'));
    writeFileSync(release, '');
    await waitFor('the job to finish', async () => {
      const state = (await rest<{ state: string }>(`/jobs/${id}`))?.state;
      if (state === 'FAILED' || state === 'CANCELED') throw new Error(`job ${id} ended ${state}: ${logs.join('\n---\n')}`);
      return state === 'FINISHED' ? true : undefined;
    }, 120_000, 200);
    expect((await committedLines(out)).sort()).toEqual([...expectedTotals(generatedOrders(2000, 7))].sort());
  }, 300_000);
});
