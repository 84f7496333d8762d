/**
 * The network stack's configuration keys, their checks, and the rule that a data port reachable
 * from other hosts needs the shared secret. Documented in README.md (Configuration).
 */
import { isIP } from 'node:net';
import { UserError } from '../../errors.ts';
import { DURATION_SYNTAX, parseFlinkDuration } from '../checkpoint/flink-duration.ts';
import { DEFAULT_CHANNEL_CAPACITY } from './channel-mux.ts';

export const SHARED_SECRET_KEY = 'security.network.shared-secret';
export const BIND_HOST_KEY = 'taskmanager.bind-host';
export const DATA_PORT_KEY = 'taskmanager.data.port';
export const BUFFERS_PER_CHANNEL_KEY = 'taskmanager.network.memory.buffers-per-channel';
export const HEARTBEAT_TIMEOUT_KEY = 'taskmanager.network.heartbeat-timeout';

export const DEFAULT_BIND_HOST = '127.0.0.1';
export const DEFAULT_HEARTBEAT_TIMEOUT_MS = 10_000;

export function isLoopback(host: string): boolean {
  const h = host.trim().toLowerCase().replace(/^\[(.*)\]$/u, '$1');
  if (h === 'localhost' || h === '::1') return true;
  if (isIP(h) === 4) return h.startsWith('127.');
  return h.startsWith('::ffff:127.');
}

/** Throws UserError (exit code 1) when `host` is not loopback and no secret is set. */
export function checkBindAllowed(host: string, secret: string | undefined): void {
  if (isLoopback(host) || (secret !== undefined && secret !== '')) return;
  throw new UserError(`refusing to bind the data port to ${host} without a shared secret: set ${SHARED_SECRET_KEY} on every TaskManager, or bind to 127.0.0.1 (${BIND_HOST_KEY})`, 1);
}

/** What the network stack reads from the configuration. */
export interface NetworkOptions {
  readonly secret: string | undefined;
  readonly bindHost: string;
  /** 0: any free port. */
  readonly dataPort: number;
  /** Credits each receiver announces: batches in flight per channel. */
  readonly buffersPerChannel: number;
  readonly heartbeatTimeoutMs: number;
}

function bad(key: string, message: string): never {
  throw new UserError(`${key}: ${message}`, 1);
}

export function parseDataPort(key: string, value: string): number {
  const n = /^\d+$/u.test(value.trim()) ? Number(value.trim()) : NaN;
  if (!(n >= 0 && n <= 65_535)) bad(key, `'${value}' is not a port: allowed is 0 to 65535 (0: any free port)`);
  return n;
}

export function parseBuffersPerChannel(key: string, value: string): number {
  const n = /^\d+$/u.test(value.trim()) ? Number(value.trim()) : NaN;
  if (!(n >= 1 && n <= 1024)) bad(key, `'${value}' is out of range: allowed is 1 to 1024 batches`);
  return n;
}

export function parseHeartbeatTimeout(key: string, value: string): number {
  const ms = parseFlinkDuration(value);
  if (ms === undefined) bad(key, `'${value}' is not a duration: write ${DURATION_SYNTAX}`);
  if (ms < 10) bad(key, `'${value}' is too short: allowed is at least 10 ms`);
  return ms;
}

export function parseSecret(key: string, value: string): string {
  if (value.length < 16) bad(key, 'the shared secret is shorter than 16 characters; use a long random value (e.g. `openssl rand -hex 32`)');
  return value;
}

/** The network keys of `config` (a key -> value lookup), with defaults; refuses a bind that needs a secret. */
export function networkOptionsFromKeys(get: (key: string) => string | undefined): NetworkOptions {
  const read = <T>(key: string, parse: (k: string, v: string) => T): T | undefined => {
    const v = get(key);
    return v === undefined ? undefined : parse(key, v);
  };
  const secret = read(SHARED_SECRET_KEY, parseSecret);
  const bindHost = read(BIND_HOST_KEY, (k, v) => (v.trim() === '' ? bad(k, 'the value is empty; give a host name or IP address') : v.trim())) ?? DEFAULT_BIND_HOST;
  checkBindAllowed(bindHost, secret);
  return {
    secret,
    bindHost,
    dataPort: read(DATA_PORT_KEY, parseDataPort) ?? 0,
    buffersPerChannel: read(BUFFERS_PER_CHANNEL_KEY, parseBuffersPerChannel) ?? DEFAULT_CHANNEL_CAPACITY,
    heartbeatTimeoutMs: read(HEARTBEAT_TIMEOUT_KEY, parseHeartbeatTimeout) ?? DEFAULT_HEARTBEAT_TIMEOUT_MS,
  };
}
