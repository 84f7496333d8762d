/**
 * deploy/kubernetes/ checked against tsflink itself: the configuration registry and loader, and
 * the real `flink` CLI's flags (its `--help`, run as a user would). No cluster runs here; each
 * negative case changes one thing in the parsed manifests and expects the checker to name it.
 */
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { type ManifestSet, type Obj, JOB_MANAGER, SERVICE, TASK_MANAGER, CONFIG_MAP, checkManifests, find, loadManifests, optionsInHelp } from './support/kubernetes-manifests.ts';
import { ROOT, runFlink } from './support/run-flink.ts';

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
