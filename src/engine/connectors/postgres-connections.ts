/**
 * The PostgreSQL connections of sinks in this process, by job and operator.
 *
 * A failed or cancelled attempt closes its operators, and so its sinks' connections; but a close
 * that never ran to its end (a close that failed, a subtask stuck in a query) would leave a
 * connection open, and with it its open transaction and the row locks that holds: a replayed
 * insert of the same unique key would wait on a dead attempt forever. So a sink that starts
 * attempt n first ends every connection of its job and operator that an earlier attempt opened.
 * (In a cluster a TaskManager that dies takes the connections of its slots with it.)
 */
import type { Client } from 'pg';
import { pgModule } from './pg-module.ts';
import { UserError } from '../../errors.ts';

export interface ConnectionOwner {
  readonly jobId: string;
  readonly operatorUid: string;
  readonly subtaskIndex: number;
  readonly attemptNumber: number;
}

interface Opened {
  readonly attempt: number;
  readonly client: Client;
}

const opened = new Map<string, Set<Opened>>();
const keyOf = (owner: ConnectionOwner): string => `${owner.jobId}\u0000${owner.operatorUid}`;

/** Ends the connections that earlier attempts of this job's operator left open. */
export async function closeEarlierAttempts(owner: ConnectionOwner): Promise<void> {
  const set = opened.get(keyOf(owner));
  if (set === undefined) return;
  const stale = [...set].filter((o) => o.attempt < owner.attemptNumber);
  for (const o of stale) set.delete(o);
  await Promise.all(stale.map((o) => endQuietly(o.client)));
}

/** A connected client, registered to its owner until `release`. */
export async function connect(connectionString: string, owner: ConnectionOwner, sink: string): Promise<Client> {
  const { Client: PgClient } = pgModule();
  const client = new PgClient({
    connectionString,
    // Shown in pg_stat_activity, so an operator can tell which subtask holds a connection.
    application_name: `tsflink ${owner.operatorUid}`.slice(0, 50) + ` #${owner.subtaskIndex}`,
  });
  // A connection the server ends while idle emits 'error'; unhandled, it would kill the process.
  // The next query on the client fails and reports it, so nothing is lost by listening here.
  client.on('error', () => undefined);
  try {
    await client.connect();
  } catch (err) {
    await endQuietly(client);
    throw new UserError(`${sink}: cannot connect to PostgreSQL at ${redact(connectionString)}: ${(err as Error).message}; check connectionString and that the server runs`, undefined, { cause: err });
  }
  const key = keyOf(owner);
  const set = opened.get(key) ?? new Set<Opened>();
  opened.set(key, set);
  set.add({ attempt: owner.attemptNumber, client });
  return client;
}

export async function release(owner: ConnectionOwner, client: Client | undefined): Promise<void> {
  if (client === undefined) return;
  const set = opened.get(keyOf(owner));
  for (const o of set ?? []) if (o.client === client) set?.delete(o);
  if (set?.size === 0) opened.delete(keyOf(owner));
  await endQuietly(client);
}

async function endQuietly(client: Client): Promise<void> {
  try {
    await client.end();
  } catch {
    // Already broken or ended: either way it holds nothing any more.
  }
}

/** The connection string without its password, for messages. */
export function redact(connectionString: string): string {
  try {
    const url = new URL(connectionString);
    if (url.password !== '') url.password = '***';
    return url.toString();
  } catch {
    return connectionString.replace(/password\s*=\s*('[^']*'|\S+)/gi, 'password=***'); // key=value form
  }
}
