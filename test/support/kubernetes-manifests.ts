/**
 * Checks deploy/kubernetes/ against what tsflink really reads: names, labels and selectors fit
 * together, every configuration key (config.yaml in the ConfigMap, `-D` in container args) is in
 * the registry and each container's whole configuration loads as `flink` would load it in that
 * pod, ports agree with `rest.port`, flags exist in the real CLI's help, and secrets come from a
 * Secret. Returns the problems as one line each; none means the manifests fit.
 */
import { mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseAllDocuments, parseDocument } from 'yaml';
import { type Config, describeKeys, loadConfig, networkOptions, restPort } from '../../src/config.ts';
import { isLoopback } from '../../src/engine/network/network-config.ts';

export type Obj = Record<string, unknown>;

export interface Manifest {
  readonly file: string;
  readonly doc: Obj;
}

export interface ManifestSet {
  readonly manifests: Manifest[];
  readonly dockerfile: string;
}

/** Every YAML document of every `*.yaml` in `dir`, and its Dockerfile. */
export function loadManifests(dir: string): ManifestSet {
  const manifests: Manifest[] = [];
  for (const file of readdirSync(dir).filter((f) => f.endsWith('.yaml')).sort()) {
    for (const d of parseAllDocuments(readFileSync(join(dir, file), 'utf8'))) {
      if (d.errors.length > 0) throw new Error(`${file}: ${d.errors[0]!.message}`);
      manifests.push({ file, doc: d.toJS() as Obj });
    }
  }
  return { manifests, dockerfile: readFileSync(join(dir, 'Dockerfile'), 'utf8') };
}

export const CONFIG_MAP = 'flink-config';
export const SERVICE = 'flink-jobmanager';
export const JOB_MANAGER = 'flink-jobmanager';
export const TASK_MANAGER = 'flink-taskmanager';
export const IMAGE = 'tsflink:latest';
/** What the Downward API and a Secret give a container, for loading its configuration here. */
const POD_IP = '10.244.1.7';
const SECRET_VALUE = 'secret-from-a-kubernetes-secret';

const obj = (v: unknown): Obj => (typeof v === 'object' && v !== null && !Array.isArray(v) ? (v as Obj) : {});
const arr = (v: unknown): unknown[] => (Array.isArray(v) ? v : []);
const str = (v: unknown): string | undefined => (typeof v === 'string' ? v : typeof v === 'number' ? String(v) : undefined);

export function find(set: ManifestSet, kind: string, name: string): Manifest | undefined {
  return set.manifests.find((m) => m.doc.kind === kind && obj(m.doc.metadata).name === name);
}

/** `selector` selects pods labelled `labels`. */
function selects(selector: Obj, labels: Obj): boolean {
  const entries = Object.entries(selector);
  return entries.length > 0 && entries.every(([k, v]) => labels[k] === v);
}

/** The one container of a Deployment's pods, its pod spec and labels. */
function podOf(m: Manifest): { labels: Obj; spec: Obj; container: Obj } {
  const template = obj(obj(m.doc.spec).template);
  const spec = obj(template.spec);
  return { labels: obj(obj(template.metadata).labels), spec, container: obj(arr(spec.containers)[0]) };
}

/** The options a command's `--help` lists, by short and long flag: the long name and whether it takes a value. */
export function optionsInHelp(help: string): Map<string, { long: string; takesValue: boolean }> {
  const options = new Map<string, { long: string; takesValue: boolean }>();
  for (const line of help.split('\n')) {
    const m = /^ {2}(?:(-\w), )?(--[\w-]+)( [<[][^>\]]+[>\]])?/u.exec(line);
    if (m === null) continue;
    const option = { long: m[2]!, takesValue: m[3] !== undefined };
    options.set(m[2]!, option);
    if (m[1] !== undefined) options.set(m[1], option);
  }
  return options;
}

interface ParsedArgs {
  readonly command: string | undefined;
  readonly defines: string[];
  readonly values: Map<string, string>;
}

/** `args` read as the CLI reads them, with flags and whether they take a value from its help. */
function parseArgs(where: string, args: readonly string[], helpFor: (command: string) => string | undefined, problems: string[]): ParsedArgs {
  const [command, ...rest] = args;
  const parsed: ParsedArgs = { command, defines: [], values: new Map() };
  const help = command === undefined ? undefined : helpFor(command);
  if (help === undefined) {
    problems.push(`${where}: args[0] '${command ?? ''}' is not a flink command`);
    return parsed;
  }
  const options = optionsInHelp(help);
  for (let i = 0; i < rest.length; i++) {
    const token = rest[i]!;
    if (!token.startsWith('-')) {
      problems.push(`${where}: 'flink ${command}' takes no argument '${token}'`);
      continue;
    }
    const option = options.get(token);
    if (option === undefined) {
      problems.push(`${where}: 'flink ${command} --help' lists no option ${token}`);
      continue;
    }
    if (!option.takesValue) continue;
    const value = rest[++i];
    if (value === undefined) {
      problems.push(`${where}: ${token} has no value`);
      continue;
    }
    if (option.long === '--define') parsed.defines.push(value);
    else parsed.values.set(option.long, value);
  }
  return parsed;
}

type EnvSource = { kind: 'value'; value: string } | { kind: 'pod-ip' } | { kind: 'secret'; name: string; key: string } | { kind: 'other' };

function envSources(container: Obj): Map<string, EnvSource> {
  const sources = new Map<string, EnvSource>();
  for (const e of arr(container.env).map(obj)) {
    const name = str(e.name);
    if (name === undefined) continue;
    const from = obj(e.valueFrom);
    const secret = obj(from.secretKeyRef);
    if (str(e.value) !== undefined) sources.set(name, { kind: 'value', value: str(e.value)! });
    else if (obj(from.fieldRef).fieldPath === 'status.podIP') sources.set(name, { kind: 'pod-ip' });
    else if (str(secret.name) !== undefined) sources.set(name, { kind: 'secret', name: str(secret.name)!, key: str(secret.key) ?? '' });
    else sources.set(name, { kind: 'other' });
  }
  return sources;
}

/** Kubernetes' `$(VAR)` expansion in args, with the values a pod would get. */
function expand(where: string, text: string, env: Map<string, EnvSource>, problems: string[]): string {
  return text.replace(/\$\(([A-Za-z_][\w]*)\)/gu, (whole, name: string) => {
    const source = env.get(name);
    if (source === undefined) {
      problems.push(`${where}: ${whole} is not an env var of the container (Kubernetes would pass it literally)`);
      return whole;
    }
    return source.kind === 'value' ? source.value : source.kind === 'pod-ip' ? POD_IP : source.kind === 'secret' ? SECRET_VALUE : whole;
  });
}

/** The env var a `-D key=$(VAR)` takes its value from, if it is exactly that. */
function defineSource(defines: readonly string[], key: string, env: Map<string, EnvSource>): EnvSource | 'literal' | undefined {
  const define = defines.findLast((d) => d.slice(0, d.indexOf('=')).trim() === key);
  if (define === undefined) return undefined;
  const m = /^\$\(([A-Za-z_]\w*)\)$/u.exec(define.slice(define.indexOf('=') + 1).trim());
  return m === null ? 'literal' : (env.get(m[1]!) ?? 'literal');
}

/** The configuration a Deployment's container loads, as `flink` loads it in the pod. */
function loadContainerConfig(where: string, pod: { spec: Obj; container: Obj }, defines: readonly string[], configYaml: string | undefined, problems: string[]): Config | undefined {
  const env = envSources(pod.container);
  const confDir = env.get('FLINK_CONF_DIR');
  const mounts = arr(pod.container.volumeMounts).map(obj);
  const volumes = arr(pod.spec.volumes).map(obj);
  const configVolume = volumes.find((v) => obj(v.configMap).name === CONFIG_MAP);
  const mount = mounts.find((m) => m.name === configVolume?.name);
  const items = arr(obj(configVolume?.configMap).items).map(obj);
  if (configVolume === undefined || mount === undefined) problems.push(`${where}: the ConfigMap ${CONFIG_MAP} is not mounted`);
  else if (confDir?.kind !== 'value' || confDir.value !== str(mount.mountPath)) problems.push(`${where}: FLINK_CONF_DIR is not the ConfigMap's mount path ${str(mount.mountPath) ?? ''}`);
  else if (items.length > 0 && !items.some((i) => i.key === 'config.yaml' && i.path === 'config.yaml')) problems.push(`${where}: the ConfigMap's items do not put config.yaml at ${str(mount.mountPath) ?? ''}/config.yaml`);
  const dir = mkdtempSync(join(tmpdir(), 'tsflink-k8s-'));
  try {
    if (configYaml !== undefined) writeFileSync(join(dir, 'config.yaml'), configYaml);
    const expanded = defines.map((d) => expand(where, d, env, problems));
    return loadConfig({ defines: expanded, env: configYaml === undefined ? {} : { FLINK_CONF_DIR: dir }, cwd: dir, warn: () => undefined });
  } catch (err) {
    problems.push(`${where}: ${err instanceof Error ? err.message : String(err)}`);
    return undefined;
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/** Dotted keys of a config.yaml text, as Flink flattens nested maps. */
function yamlKeys(text: string): string[] {
  const keys: string[] = [];
  const walk = (map: Obj, prefix: string): void => {
    for (const [name, value] of Object.entries(map)) {
      const key = prefix === '' ? name : `${prefix}.${name}`;
      if (typeof value === 'object' && value !== null && !Array.isArray(value)) walk(value as Obj, key);
      else keys.push(key);
    }
  };
  walk(obj(parseDocument(text).toJS()), '');
  return keys;
}

export function checkManifests(set: ManifestSet, helpFor: (command: string) => string | undefined): string[] {
  const problems: string[] = [];
  const known = new Set(describeKeys().flatMap((k) => [k.key, ...k.deprecatedKeys]));
  for (const m of set.manifests) {
    if (str(m.doc.apiVersion) === undefined || str(m.doc.kind) === undefined || str(obj(m.doc.metadata).name) === undefined) problems.push(`${m.file}: a document without apiVersion, kind or metadata.name`);
  }
  const configMap = find(set, 'ConfigMap', CONFIG_MAP);
  const service = find(set, 'Service', SERVICE);
  const jm = find(set, 'Deployment', JOB_MANAGER);
  const tm = find(set, 'Deployment', TASK_MANAGER);
  for (const [what, m] of [[`ConfigMap ${CONFIG_MAP}`, configMap], [`Service ${SERVICE}`, service], [`Deployment ${JOB_MANAGER}`, jm], [`Deployment ${TASK_MANAGER}`, tm]] as const) {
    if (m === undefined) problems.push(`no ${what}`);
  }
  if (configMap === undefined || service === undefined || jm === undefined || tm === undefined) return problems;

  // config.yaml: every key in the registry; never the secret.
  const configYaml = str(obj(configMap.doc.data)['config.yaml']);
  if (configYaml === undefined) problems.push(`${configMap.file}: no config.yaml in data`);
  const fileKeys = configYaml === undefined ? [] : yamlKeys(configYaml);
  for (const key of fileKeys) if (!known.has(key)) problems.push(`${configMap.file}: config.yaml: '${key}' is not a configuration key of tsflink`);
  if (fileKeys.includes('security.network.shared-secret')) problems.push(`${configMap.file}: security.network.shared-secret belongs in a Secret, not in the ConfigMap`);

  // Deployments select their own pods; the Service selects the JobManager's pods only.
  const pods = new Map<string, ReturnType<typeof podOf>>();
  for (const m of [jm, tm]) {
    const pod = podOf(m);
    pods.set(m === jm ? 'jobmanager' : 'taskmanager', pod);
    if (!selects(obj(obj(m.doc.spec).selector).matchLabels as Obj, pod.labels)) problems.push(`${m.file}: spec.selector.matchLabels does not select the pod template's labels`);
    if (str(pod.container.image) !== IMAGE) problems.push(`${m.file}: image is '${str(pod.container.image) ?? ''}', not ${IMAGE}`);
  }
  const selector = obj(obj(service.doc.spec).selector);
  if (!selects(selector, pods.get('jobmanager')!.labels)) problems.push(`${service.file}: the Service does not select the JobManager's pods`);
  if (selects(selector, pods.get('taskmanager')!.labels)) problems.push(`${service.file}: the Service selects TaskManager pods too`);

  // Each container's args through the real CLI's flags, and its whole configuration loaded.
  const configs = new Map<string, { config: Config | undefined; args: ParsedArgs; env: Map<string, EnvSource> }>();
  for (const [role, m] of [['jobmanager', jm], ['taskmanager', tm]] as const) {
    const pod = pods.get(role)!;
    const where = `${m.file} (${role})`;
    const args = parseArgs(where, arr(pod.container.args).map((a) => str(a) ?? ''), helpFor, problems);
    if (args.command !== role) problems.push(`${where}: runs '${args.command ?? ''}', not 'flink ${role}'`);
    for (const define of args.defines) {
      const key = define.slice(0, Math.max(0, define.indexOf('='))).trim();
      if (!known.has(key)) problems.push(`${where}: -D ${define}: '${key}' is not a configuration key of tsflink`);
    }
    const env = envSources(pod.container);
    configs.set(role, { config: loadContainerConfig(where, pod, args.defines, configYaml, problems), args, env });
  }

  // Ports: the JobManager listens on rest.port, the Service forwards it, TaskManagers dial it.
  const jmConfig = configs.get('jobmanager')!.config;
  const port = jmConfig === undefined ? undefined : restPort(jmConfig);
  const jmPorts = arr(pods.get('jobmanager')!.container.ports).map(obj);
  const containerRest = jmPorts.find((p) => p.name === 'rest');
  // A configuration that does not load is reported above; its port is not known.
  if (port !== undefined && str(containerRest?.containerPort) !== String(port)) problems.push(`${jm.file}: container port 'rest' is ${str(containerRest?.containerPort) ?? 'missing'}, rest.port is ${port}`);
  const servicePorts = arr(obj(service.doc.spec).ports).map(obj);
  const serviceRest = servicePorts.find((p) => p.name === 'rest');
  if (port !== undefined && str(serviceRest?.port) !== String(port)) problems.push(`${service.file}: port 'rest' is ${str(serviceRest?.port) ?? 'missing'}, rest.port is ${port}`);
  if (serviceRest !== undefined && serviceRest.targetPort !== 'rest' && str(serviceRest.targetPort) !== String(port)) problems.push(`${service.file}: targetPort ${str(serviceRest.targetPort) ?? ''} is not the JobManager's rest port`);
  for (const p of servicePorts) if (p.name !== 'rest') problems.push(`${service.file}: port '${str(p.name) ?? ''}' (${str(p.port) ?? ''}) is no port tsflink listens on`);
  const tmArgs = configs.get('taskmanager')!.args;
  const jobManager = tmArgs.values.get('--jobmanager');
  if (jobManager !== `${SERVICE}:${str(serviceRest?.port) ?? ''}`) problems.push(`${tm.file}: -m is '${jobManager ?? '(none)'}', not the Service ${SERVICE}:${str(serviceRest?.port) ?? ''}`);

  // A TaskManager bound beyond loopback: its secret from a Secret, the same one the JobManager's
  // job workers prove, and an address the other pods can reach.
  const tmConfig = configs.get('taskmanager')!.config;
  if (tmConfig !== undefined) {
    const { bindHost } = networkOptions(tmConfig);
    if (!isLoopback(bindHost)) {
      const sources = ['jobmanager', 'taskmanager'].map((role) => {
        const c = configs.get(role)!;
        const source = defineSource(c.args.defines, 'security.network.shared-secret', c.env);
        if (typeof source !== 'object' || source.kind !== 'secret') problems.push(`${role}: security.network.shared-secret must be -D security.network.shared-secret=$(VAR) with VAR from a secretKeyRef`);
        return typeof source === 'object' && source.kind === 'secret' ? `${source.name}/${source.key}` : undefined;
      });
      if (sources[0] !== undefined && sources[1] !== undefined && sources[0] !== sources[1]) problems.push(`the JobManager's secret (${sources[0]}) and the TaskManagers' (${sources[1]}) differ`);
      const host = tmConfig.get('taskmanager.host');
      if (host !== POD_IP) problems.push(`${tm.file}: taskmanager.host is '${host ?? '(unset)'}', not the pod's IP (-D taskmanager.host=$(POD_IP) with POD_IP from status.podIP); other pods could not reach a TaskManager bound to ${bindHost}`);
    }
  }

  // Checkpoints are written by every TaskManager and read by the JobManager: a store all pods reach.
  for (const [role, c] of configs) {
    if (c.config === undefined) continue;
    const dir = c.config.get('execution.checkpointing.dir') ?? c.config.get('state.checkpoints.dir');
    if (dir === undefined) problems.push(`${role}: no execution.checkpointing.dir (the default is local to the JobManager's pod)`);
    else if (!dir.startsWith('s3://')) {
      const pod = pods.get(role)!;
      const claims = new Set(arr(pod.spec.volumes).map(obj).filter((v) => obj(v.persistentVolumeClaim).claimName !== undefined).map((v) => v.name));
      const shared = arr(pod.container.volumeMounts).map(obj).some((m) => claims.has(m.name) && dir.startsWith(`${str(m.mountPath) ?? '\0'}/`));
      if (!shared) problems.push(`${role}: execution.checkpointing.dir ${dir} is neither s3:// nor on a PersistentVolumeClaim mounted in the pod`);
    }
  }

  if (!/^ENTRYPOINT \["flink"\]$/mu.test(set.dockerfile)) problems.push('Dockerfile: the entrypoint is not ["flink"], which the containers\' args assume');
  return problems;
}

/**
 * A Deployment's container command as it would run in its pod (`flink` and its args, `$(VAR)`
 * expanded from the container's plain env values and from `given` for the Downward API and
 * Secrets), for running it on this machine.
 */
export function containerCommand(set: ManifestSet, deployment: string, given: Readonly<Record<string, string>>): string[] {
  const m = find(set, 'Deployment', deployment);
  if (m === undefined) throw new Error(`no Deployment ${deployment}`);
  const { container } = podOf(m);
  const values = new Map<string, string>();
  for (const [name, source] of envSources(container)) if (source.kind === 'value') values.set(name, source.value);
  for (const [name, value] of Object.entries(given)) values.set(name, value);
  return arr(container.args).map((a) =>
    (str(a) ?? '').replace(/\$\(([A-Za-z_]\w*)\)/gu, (whole, name: string) => {
      const value = values.get(name);
      if (value === undefined) throw new Error(`${deployment}: nothing given for ${whole}`);
      return value;
    }),
  );
}

export function replicas(set: ManifestSet, deployment: string): number {
  return Number(obj(find(set, 'Deployment', deployment)?.doc.spec).replicas ?? 1);
}
