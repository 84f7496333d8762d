/**
 * Checks of what arrives over HTTP before the dispatcher sees it: the dispatcher trusts its types,
 * and a request from curl or an older CLI can carry anything. Each failure names the field, so a
 * 400 tells the sender what to fix.
 */
import { BadRequestError } from './cluster-api.ts';
import type { CheckpointTriggerRequest, SavepointTriggerRequest, StopRequest, SubmitRequest } from './cluster-api.ts';
import type { TaskManagerRegistration } from './taskmanager/task-manager-registry.ts';

/**
 * The path parameters of Flink's REST API as its MessagePathParameter converters read them, each
 * failure Flink's 400 with the message AbstractHandler wraps HandlerRequest's in (`Bad request,
 * could not parse parameters: Cannot resolve path parameter (<key>) from value "<value>".`), so a
 * script written against Flink reads the same answer from us. Parameters
 * of our own routes (taskmanagerid, blobkey) and Flink's ResourceID, which takes any text, pass
 * as they are. Returns the parameters in one canonical spelling, so a handler looks up what Flink
 * would find: hex ids in lower case, checkpoint ids in plain decimal.
 */
export function resolvePathParameters(params: Readonly<Record<string, string>>): Record<string, string> {
  const resolved: Record<string, string> = {};
  // In path order, as Flink resolves them: the first bad one is the one named.
  for (const [key, value] of Object.entries(params)) {
    switch (key) {
      case 'jobid':
      case 'vertexid':
      case 'triggerid':
        resolved[key] = hexIdPathParameter(key, value);
        break;
      case 'checkpointid':
        resolved[key] = longPathParameter(key, value);
        break;
      default:
        resolved[key] = value;
    }
  }
  return resolved;
}

function unresolvable(key: string, value: string): BadRequestError {
  return new BadRequestError(`Bad request, could not parse parameters: Cannot resolve path parameter (${key}) from value "${value}".`);
}

/**
 * A JobID, JobVertexID or TriggerId as their fromHexString reads it (StringUtils.hexStringToByte,
 * then AbstractID's 16-byte check), in the lower-case hex our ids are written in: Flink finds
 * `A1B2...` as `a1b2...`, and takes 33 characters (the last one is dropped by the halving) and
 * signed pairs (`-f` is the byte f1, Integer.parseInt's radix-16 reading).
 */
function hexIdPathParameter(key: string, value: string): string {
  if (value.length !== 32 && value.length !== 33) throw unresolvable(key, value);
  let hex = '';
  for (let i = 0; i < 32; i += 2) {
    const pair = value.slice(i, i + 2);
    if (!/^(?:[0-9a-fA-F]{2}|[+-][0-9a-fA-F])$/u.test(pair)) throw unresolvable(key, value);
    // Java's (byte) cast keeps the low 8 bits of a negative pair.
    hex += (Number.parseInt(pair, 16) & 0xff).toString(16).padStart(2, '0');
  }
  return hex;
}

const LONG_MIN = -(2n ** 63n);
const LONG_MAX = 2n ** 63n - 1n;

/** Long.parseLong, as CheckpointIdPathParameter reads: a sign, leading zeros and any Java long. */
function longPathParameter(key: string, value: string): string {
  if (!/^[+-]?[0-9]+$/u.test(value)) throw unresolvable(key, value);
  const n = BigInt(value);
  if (n < LONG_MIN || n > LONG_MAX) throw unresolvable(key, value);
  return n.toString();
}

/** An empty body counts as `{}`: every request whose fields are all optional may omit it (curl -X POST). */
export function parseJsonBody(raw: Buffer): Record<string, unknown> {
  const text = raw.toString('utf8');
  if (text.trim() === '') return {};
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch (err) {
    throw new BadRequestError(`Request body is not valid JSON: ${err instanceof Error ? err.message : String(err)}`);
  }
  if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) {
    throw new BadRequestError('Request body must be a JSON object.');
  }
  return parsed as Record<string, unknown>;
}

/**
 * Reads the fields of one body. Unknown fields are refused (as Flink's strict mapper does), so a
 * misspelt `target_directory` fails loudly instead of being ignored. JSON `null` means absent.
 */
class Fields {
  private readonly seen = new Set<string>();

  constructor(private readonly body: Record<string, unknown>) {}

  private take(name: string): unknown {
    this.seen.add(name);
    const value = this.body[name];
    return value === null ? undefined : value;
  }

  string(name: string, required: true): string;
  string(name: string, required?: false): string | undefined;
  string(name: string, required = false): string | undefined {
    const value = this.take(name);
    if (value === undefined) {
      if (required) throw new BadRequestError(`Field '${name}' is required.`);
      return undefined;
    }
    if (typeof value !== 'string') throw wrongType(name, 'a string', value);
    if (required && value === '') throw new BadRequestError(`Field '${name}' must not be empty.`);
    return value;
  }

  boolean(name: string): boolean | undefined {
    const value = this.take(name);
    if (value === undefined) return undefined;
    if (typeof value !== 'boolean') throw wrongType(name, 'a boolean', value);
    return value;
  }

  positiveInteger(name: string): number | undefined {
    const value = this.take(name);
    if (value === undefined) return undefined;
    if (typeof value !== 'number' || !Number.isSafeInteger(value) || value < 1) {
      throw wrongType(name, 'a positive integer', value);
    }
    return value;
  }

  oneOf<const E extends string>(name: string, allowed: readonly E[]): E | undefined {
    const value = this.take(name);
    if (value === undefined) return undefined;
    if (typeof value !== 'string' || !(allowed as readonly string[]).includes(value)) {
      throw wrongType(name, `one of ${allowed.map((a) => `"${a}"`).join(', ')}`, value);
    }
    return value as E;
  }

  stringArray(name: string): string[] | undefined {
    const value = this.take(name);
    if (value === undefined) return undefined;
    if (!Array.isArray(value)) throw wrongType(name, 'an array of strings', value);
    value.forEach((item: unknown, i) => {
      if (typeof item !== 'string') throw wrongType(`${name}[${i}]`, 'a string', item);
    });
    return value as string[];
  }

  stringMap(name: string): Record<string, string> | undefined {
    const value = this.take(name);
    if (value === undefined) return undefined;
    if (typeof value !== 'object' || value === null || Array.isArray(value)) throw wrongType(name, 'an object of strings', value);
    const out: Record<string, string> = {};
    for (const [key, item] of Object.entries(value)) {
      if (typeof item !== 'string') throw wrongType(`${name}.${key}`, 'a string', item);
      out[key] = item;
    }
    return out;
  }

  /** Call last: refuses the fields no reader asked for. */
  done(): void {
    const unknown = Object.keys(this.body).filter((key) => !this.seen.has(key));
    if (unknown.length > 0) {
      throw new BadRequestError(`Unknown field${unknown.length > 1 ? 's' : ''} ${unknown.map((k) => `'${k}'`).join(', ')} in the request body.`);
    }
  }
}

function wrongType(name: string, expected: string, value: unknown): BadRequestError {
  return new BadRequestError(`Field '${name}' must be ${expected}, got ${describe(value)}.`);
}

function describe(value: unknown): string {
  const text = JSON.stringify(value) ?? String(value);
  return text.length > 60 ? `${text.slice(0, 57)}...` : text;
}

/** Drops absent fields, so the dispatcher sees exactly the keys the sender set. */
function defined<T extends object>(record: T): T {
  return Object.fromEntries(Object.entries(record).filter(([, v]) => v !== undefined)) as T;
}

export function submitRequest(body: Record<string, unknown>): SubmitRequest {
  const f = new Fields(body);
  const request: SubmitRequest = defined({
    jobFile: f.string('jobFile', true),
    jobBundle: f.string('jobBundle'),
    // Absent means no arguments, as Flink's programArgsList.
    programArgs: f.stringArray('programArgs') ?? [],
    parallelism: f.positiveInteger('parallelism'),
    savepointPath: f.string('savepointPath'),
    allowNonRestoredState: f.boolean('allowNonRestoredState'),
    claimMode: f.oneOf('claimMode', ['CLAIM', 'NO_CLAIM']),
    config: f.stringMap('config'),
    cwd: f.string('cwd'),
  });
  f.done();
  return request;
}

export function savepointTriggerRequest(body: Record<string, unknown>): SavepointTriggerRequest {
  const f = new Fields(body);
  const request: SavepointTriggerRequest = defined({
    'target-directory': f.string('target-directory'),
    'cancel-job': f.boolean('cancel-job'),
    formatType: f.oneOf('formatType', ['CANONICAL', 'NATIVE']),
  });
  f.done();
  return request;
}

export function stopRequest(body: Record<string, unknown>): StopRequest {
  const f = new Fields(body);
  const request: StopRequest = defined({
    targetDirectory: f.string('targetDirectory'),
    drain: f.boolean('drain'),
    formatType: f.oneOf('formatType', ['CANONICAL', 'NATIVE']),
  });
  f.done();
  return request;
}

export function checkpointTriggerRequest(body: Record<string, unknown>): CheckpointTriggerRequest {
  const f = new Fields(body);
  const request: CheckpointTriggerRequest = defined({
    checkpointType: f.oneOf('checkpointType', ['FULL', 'INCREMENTAL', 'CONFIGURED']),
  });
  f.done();
  return request;
}

export function savepointDisposalRequest(body: Record<string, unknown>): string {
  const f = new Fields(body);
  const path = f.string('savepoint-path', true);
  f.done();
  return path;
}

/** `POST /taskmanagers`: what a TaskManager says of itself. */
export function taskManagerRegistration(body: Record<string, unknown>): TaskManagerRegistration {
  const text = (name: string): string => {
    const v = body[name];
    if (typeof v !== 'string' || v === '' || v.length > 256) throw new BadRequestError(`Field '${name}' must be a non-empty string.`);
    return v;
  };
  const whole = (name: string, min: number, max: number): number => {
    const v = body[name];
    if (typeof v !== 'number' || !Number.isSafeInteger(v) || v < min || v > max) throw new BadRequestError(`Field '${name}' must be a whole number from ${min} to ${max}.`);
    return v;
  };
  const hardware = body.hardware;
  const h = typeof hardware === 'object' && hardware !== null ? (hardware as Record<string, unknown>) : {};
  const n = (v: unknown): number => (typeof v === 'number' && Number.isFinite(v) && v >= 0 ? v : 0);
  return {
    id: text('id'),
    host: text('host'),
    port: whole('port', 1, 65_535),
    slots: whole('slots', 1, 1024),
    pid: whole('pid', 1, 2 ** 31),
    hardware: { cpuCores: n(h.cpuCores), physicalMemory: n(h.physicalMemory), freeMemory: n(h.freeMemory) },
  };
}
