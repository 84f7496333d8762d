/**
 * Flink's configuration: `config.yaml` (from `$FLINK_CONF_DIR`, else `./conf`), overridden by
 * `-D key=value`, as a flat map of dotted keys. Values are checked when loaded, so that a typo in
 * a setting fails the command instead of a job hours later; the accessors below read the checked
 * values with Flink's defaults. The keys themselves are described in `config-keys.ts`.
 */
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir as osTmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import type { YAMLError, YAMLWarning } from 'yaml';
import {
  type ClaimMode,
  CLAIM_MODES,
  type KeyDescription,
  MIN_CACHE_BYTES,
  SPEC_BY_KEY,
  UPPER_BOUND_MAX_PARALLELISM,
  checkCheckpointKeys,
  describeKeySpecs,
  parseBoolean,
  parseChoice,
  parseMemorySize,
  parseLocalDir,
  parseNonEmpty,
  parseStateBackendType,
  parseTimerServiceFactory,
  parseRestPort,
  parseWholeNumber,
  refuseUnimplementedKey,
} from './config-keys.ts';
import { CHECKPOINT_KEYS } from './engine/checkpoint/checkpoint-config.ts';
import { type NetworkOptions, networkOptionsFromKeys } from './engine/network/network-config.ts';
import { restartStrategyFromKeys } from './engine/runtime/restart-strategy.ts';
import type { BuiltStateBackendType, StateBackendOptions } from './engine/state/state-backend-type.ts';
import { ExitCode, UsageError, UserError } from './errors.ts';
import type { OpenStoreOptions } from './storage/open-store.ts';

export type { ClaimMode, KeyDescription } from './config-keys.ts';

export type Config = ReadonlyMap<string, string>;

/** Every key that is neither refused nor warned about, deprecated names included. */
export const KNOWN_KEYS: ReadonlySet<string> = new Set(SPEC_BY_KEY.keys());

export const CONFIG_FILE_NAME = 'config.yaml';

// yaml is required only when there is a config file to parse: loading it took ~20 ms of every
// `flink` command's start, most of which have none. Its `node` export is CommonJS, so require()
// gets the same module an import would.
const require = createRequire(import.meta.url);

export interface LoadConfigOptions {
  readonly defines: readonly string[];
  readonly env: Readonly<Record<string, string | undefined>>;
  readonly cwd: string;
  readonly warn: (message: string) => void;
}

/**
 * Reads `config.yaml`, applies `-D` on top, warns about unknown keys and checks every value.
 * Whatever is wrong with the configuration is a bad argument of the command: UsageError or
 * UserError with exit code 2 (ExitCode.error), which `cli.ts` turns into Flink's 1 for the cluster
 * commands. The file tools keep 2, as their 1 is a finding (different, corrupt, not found).
 */
export function loadConfig(options: LoadConfigOptions): Config {
  try {
    const file = findConfigFile(options.env, options.cwd);
    const config = file === undefined ? new Map<string, string>() : parseConfigFile(file.path, file.text, options.warn);
    for (const [key, value] of defineEntries(options.defines)) config.set(key, value);
    checkKeys(config, options.warn);
    validateConfig(config);
    return config;
  } catch (err) {
    // The value checks are shared with job code, where a bad value fails the job with exit 1.
    if (err instanceof UserError && err.exitCode !== ExitCode.error) throw new UserError(err.message, ExitCode.error, { cause: err });
    throw err;
  }
}

/**
 * Only `-D` values, with unknown keys refused or reported through `warn`; the values are not
 * checked (`loadConfig` checks them), so the file tools behave as they did before config.yaml existed.
 */
export function parseDefines(defines: readonly string[], warn: (message: string) => void): Config {
  const config = new Map(defineEntries(defines));
  checkKeys(config, warn);
  return config;
}

/** Throws UserError for the first bad value, then for a bad combination (exit code 1; `loadConfig` makes it 2). */
export function validateConfig(config: Config): void {
  for (const [key, value] of config) SPEC_BY_KEY.get(key)?.validate(value, key);
  checkCheckpointKeys(config);
  restartStrategyFromKeys(config);
  networkOptions(config); // a non-loopback bind without a shared secret is refused here, not when a TaskManager starts
}

/**
 * A job's `-D` keys as the JobManager receives them over REST, checked as `loadConfig` checks the
 * CLI's (refused keys, each value, then the combinations over the cluster's configuration): a
 * client other than the CLI sends them unchecked. Throws UserError naming the key. Unknown keys
 * of other families pass, as the CLI only warns about them and Flink ignores them.
 */
export function validateJobConfig(cluster: Config, submitted: Config): void {
  for (const key of submitted.keys()) refuseUnimplementedKey(key, KNOWN_KEYS);
  validateConfig(new Map([...cluster, ...submitted]));
}

/** `$FLINK_CONF_DIR/config.yaml`, which must exist, else `<cwd>/conf/config.yaml` if it exists. */
function findConfigFile(env: LoadConfigOptions['env'], cwd: string): { path: string; text: string } | undefined {
  const dir = env.FLINK_CONF_DIR;
  if (dir !== undefined && dir !== '') {
    const path = resolve(cwd, dir, CONFIG_FILE_NAME);
    const text = readText(path);
    if (text === undefined) throw new UserError(`${path}: no such file (FLINK_CONF_DIR is set to '${dir}')`, 1);
    return { path, text };
  }
  const path = resolve(cwd, 'conf', CONFIG_FILE_NAME);
  const text = readText(path);
  return text === undefined ? undefined : { path, text };
}

/** The file's text, or undefined when it does not exist; other failures name the file. */
function readText(path: string): string | undefined {
  try {
    return readFileSync(path, 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw new UserError(`${path}: cannot read the configuration file: ${(err as Error).message}`, 1, { cause: err });
  }
}

function parseConfigFile(path: string, text: string, warn: (message: string) => void): Map<string, string> {
  const { parseDocument } = require('yaml') as typeof import('yaml');
  const doc = parseDocument(text);
  const error = doc.errors[0];
  if (error !== undefined) throw new UserError(`${path}: invalid YAML ${describeYamlProblem(error)}`, 1, { cause: error });
  for (const warning of doc.warnings) warn(`Warning: ${path}: ${describeYamlProblem(warning)}`);
  const root: unknown = doc.toJS();
  const config = new Map<string, string>();
  if (root === null || root === undefined) return config;
  if (!isMap(root)) throw new UserError(`${path}: expected configuration keys at the top level, found ${Array.isArray(root) ? 'a list' : `'${String(root)}'`}`, 1);
  flatten(root, '', config);
  return config;
}

function describeYamlProblem(problem: YAMLError | YAMLWarning): string {
  const at = problem.linePos?.[0];
  // The library appends the position and a source excerpt; we say where in our own words.
  const reason = problem.message.replace(/ at line \d+, column \d+:[\s\S]*$/u, '');
  return at === undefined ? reason : `at line ${at.line}, column ${at.col}: ${reason}`;
}

/**
 * Flink's standard YAML reading: nested maps become dotted keys, so nested, flat and mixed
 * spellings mean the same; a later spelling of a key in the file wins. Null values leave the key
 * unset.
 */
function flatten(map: Record<string, unknown>, prefix: string, out: Map<string, string>): void {
  for (const [name, value] of Object.entries(map)) {
    const key = prefix === '' ? name : `${prefix}.${name}`;
    if (value === null || value === undefined) continue;
    if (isMap(value)) flatten(value, key, out);
    else out.set(key, Array.isArray(value) ? value.map(listItem).join(';') : String(value));
  }
}

/** Flink writes list items separated by ';' and a map item as `k:v,k:v`. */
function listItem(item: unknown): string {
  if (isMap(item)) return Object.entries(item).map(([k, v]) => `${k}:${String(v)}`).join(',');
  return String(item);
}

function isMap(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value) && !(value instanceof Date);
}

/** `-D key=value` flags as pairs, in order (a later one wins when they become a map). */
export function defineEntries(defines: readonly string[]): [string, string][] {
  return defines.map((define) => {
    const eq = define.indexOf('=');
    if (eq <= 0) throw new UsageError(`-D ${define}: expected key=value`);
    return [define.slice(0, eq).trim(), define.slice(eq + 1).trim()];
  });
}

/**
 * Refuses an unknown key of a family whose behaviour tsflink owns (UserError naming it, exit 1),
 * before any warning so that the refusal is the one line printed; then one warning per other
 * unknown key, however many times and places it is set.
 */
function checkKeys(config: Config, warn: (message: string) => void): void {
  for (const key of config.keys()) refuseUnimplementedKey(key, KNOWN_KEYS);
  for (const key of config.keys()) {
    if (!KNOWN_KEYS.has(key)) warn(`Warning: unknown configuration key '${key}' is ignored.`);
  }
}

/** The value under `key` or, failing that, under one of its deprecated names, parsed. */
function read<T>(config: Config, key: string, parse: (key: string, value: string) => T): T | undefined {
  for (const name of [key, ...(SPEC_BY_KEY.get(key)?.deprecatedKeys ?? [])]) {
    const value = config.get(name);
    if (value !== undefined) return parse(name, value);
  }
  return undefined;
}

/**
 * Where clients find the JobManager's REST endpoint: rest.address, else jobmanager.rpc.address,
 * its fallback key in Flink (RestOptions.ADDRESS), as tsflink's REST port is its RPC port too.
 */
export function restAddress(config: Config): string {
  return read(config, 'rest.address', parseNonEmpty) ?? read(config, 'jobmanager.rpc.address', parseNonEmpty) ?? '127.0.0.1';
}

export function restBindAddress(config: Config): string {
  return read(config, 'rest.bind-address', parseNonEmpty) ?? restAddress(config);
}

export function restPort(config: Config): number {
  return read(config, 'rest.port', parseRestPort) ?? 8081;
}

/** `rest.server.max-content-length`, Flink's default 100 MiB. */
export function restMaxContentLength(config: Config): number {
  return read(config, 'rest.server.max-content-length', (k, v) => parseWholeNumber(k, v, 1024, Number.MAX_SAFE_INTEGER)) ?? 104_857_600;
}

/** Per port, so that two local clusters on different ports do not share files. */
export function workingDir(config: Config, tmpdir: string = osTmpdir()): string {
  return read(config, 'process.jobmanager.working-dir', parseNonEmpty) ?? join(tmpdir, `tsflink-jobmanager-${restPort(config)}`);
}

export function defaultParallelism(config: Config): number {
  return read(config, 'parallelism.default', (k, v) => parseWholeNumber(k, v, 1, UPPER_BOUND_MAX_PARALLELISM)) ?? 1;
}

/** Undefined when unset (or Flink's -1 for unset): the engine derives it from the parallelism. */
export function maxParallelism(config: Config): number | undefined {
  const value = read(config, 'pipeline.max-parallelism', (k, v) => parseWholeNumber(k, v, 1, UPPER_BOUND_MAX_PARALLELISM, { value: -1, means: 'unset' }));
  return value === -1 ? undefined : value;
}

export function stateBackendType(config: Config): BuiltStateBackendType {
  return read(config, 'state.backend.type', parseStateBackendType) ?? 'hashmap';
}

/** The on-disk backends' keys. */
export function stateBackendOptions(config: Config): StateBackendOptions {
  const timerService = read(config, 'state.backend.rocksdb.timer-service.factory', parseTimerServiceFactory);
  const rocksdbLocalDir = read(config, 'state.backend.rocksdb.localdir', parseLocalDir);
  const lmdbLocalDir = read(config, 'state.backend.lmdb.localdir', parseLocalDir);
  const cacheBytes = read(config, 'state.backend.embedded.cache-size', (k, v) => parseMemorySize(k, v, MIN_CACHE_BYTES));
  return {
    ...(rocksdbLocalDir === undefined ? {} : { rocksdbLocalDir }),
    ...(lmdbLocalDir === undefined ? {} : { lmdbLocalDir }),
    ...(cacheBytes === undefined ? {} : { cacheBytes }),
    ...(timerService === undefined ? {} : { timerService }),
  };
}

/** The network stack's keys (data port, credits, heartbeats, shared secret). */
export function networkOptions(config: Config): NetworkOptions {
  return networkOptionsFromKeys((key) => config.get(key));
}

export function claimMode(config: Config): ClaimMode {
  return read(config, 'execution.state-recovery.claim-mode', (k, v) => parseChoice(k, v, CLAIM_MODES)) ?? 'NO_CLAIM';
}

/**
 * `execution.checkpointing.savepoint-dir` (or `state.savepoints.dir`) of the client's
 * configuration: where `flink savepoint` and `flink stop` write when given no directory, as
 * Flink's CliFrontend does; unset, the job's own default applies.
 */
export function savepointDir(config: Config): string | undefined {
  return read(config, CHECKPOINT_KEYS.savepointDir.key, parseNonEmpty);
}

/** Like `run -s`. */
export function savepointPath(config: Config): string | undefined {
  return read(config, 'execution.state-recovery.path', parseNonEmpty);
}

/** Like `run -n`. */
export function ignoreUnclaimedState(config: Config): boolean {
  return read(config, 'execution.state-recovery.ignore-unclaimed-state', parseBoolean) ?? false;
}

export function pipelineName(config: Config): string | undefined {
  return read(config, 'pipeline.name', (_k, v) => v);
}

/** The known keys as data, in documentation order, for README.md and help. */
export function describeKeys(): readonly KeyDescription[] {
  return describeKeySpecs();
}

export function storeOptions(config: Config): OpenStoreOptions {
  const options: OpenStoreOptions = {};
  const endpoint = config.get('s3.endpoint');
  if (endpoint !== undefined) options.s3Endpoint = endpoint;
  const pathStyle = config.get('s3.path.style.access');
  if (pathStyle !== undefined) {
    if (pathStyle !== 'true' && pathStyle !== 'false') {
      throw new UsageError(`s3.path.style.access: '${pathStyle}' is not one of true, false`);
    }
    options.s3PathStyle = pathStyle === 'true';
  }
  return options;
}
