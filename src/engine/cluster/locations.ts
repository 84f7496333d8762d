/**
 * Snapshot locations between a user's shell and the cluster: how they are shown (local paths
 * as Flink shows them, `file:/abs/path`; s3:// as it is) and how a path typed in one directory
 * is handed to a JobManager that runs in another (made absolute; URLs stay as they are).
 */
import { isAbsolute, resolve } from 'node:path';
import { UsageError } from '../../errors.ts';

/** A scheme such as `s3:` or `file:`. */
export function hasScheme(location: string): boolean {
  return /^[a-z][a-z0-9+.-]*:/i.test(location);
}

export function externalPath(location: string): string {
  // `file:///x` (a checkpoint dir given as a URL) shown as Flink shows every local path, `file:/x`.
  const local = /^file:\/\/(\/|localhost\/)/i.exec(location);
  if (local !== null) return `file:/${location.slice(local[0].length)}`;
  if (hasScheme(location)) return location;
  return `file:${isAbsolute(location) ? location : resolve(location)}`;
}

/** What each path argument is, for the refusal of an empty one: [what it names, what to give]. */
export const PATH_ARGUMENTS = {
  snapshot: ['the snapshot path', 'the snapshot directory or its _metadata file'],
  savepointTarget: ['the savepoint target directory', 'a directory, or leave it out for execution.checkpointing.savepoint-dir'],
  savepointToDispose: ['the savepoint path', "the savepoint's directory, as 'flink savepoint' printed it"],
  rekeyTarget: ['the target directory', 'a directory that does not exist yet for the new savepoint'],
  checkpointDir: ['the checkpoint directory', 'the directory of execution.checkpointing.dir, local or s3://'],
  jobFile: ['the job file path', 'the job module (.ts or .js)'],
} as const satisfies Record<string, readonly [string, string]>;

/**
 * Refuses an empty path argument (`""` from a script's unset variable): resolved, it would be the
 * working directory or `/`, which nobody meant. UsageError: the command's bad-argument exit code.
 */
export function nonEmptyPath(path: string, kind: keyof typeof PATH_ARGUMENTS): string {
  const [what, give] = PATH_ARGUMENTS[kind];
  if (path.trim() === '') throw new UsageError(`${what} is empty: give ${give}`);
  return path;
}

/** A path the user typed, relative to `cwd`, as the JobManager must get it. */
export function absoluteLocation(location: string, cwd: string): string {
  return hasScheme(location) || isAbsolute(location) ? location : resolve(cwd, location);
}
