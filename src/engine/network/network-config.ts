/**
 * The network stack's configuration keys and the rule that a data port reachable from other
 * hosts needs the shared secret.
 */
import { isIP } from 'node:net';
import { UserError } from '../../errors.ts';

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
