/**
 * The one place that makes and checks paths inside a snapshot (docs/FORMAT.md section 2).
 * Everything that names an object in a snapshot directory goes through here, so no absolute
 * path or `..` can ever reach a store.
 */
import { randomBytes } from 'node:crypto';

export const METADATA_FILE = '_metadata';

const SEGMENT = /^[A-Za-z0-9._-]{1,255}$/;

/** Why `path` is not an acceptable relative path inside a snapshot, or undefined if it is. */
export function relativePathProblem(path: string): string | undefined {
  if (path.length === 0) return 'empty path';
  if (path.startsWith('/')) return `absolute path '${path}'`;
  if (path.includes('\\')) return `backslash in path '${path}'`;
  for (const segment of path.split('/')) {
    if (segment === '..') return `path '${path}' escapes the snapshot directory`;
    if (segment === '.' || segment === '') return `path '${path}' has an empty or '.' segment`;
    if (!SEGMENT.test(segment)) return `path '${path}' has characters outside [A-Za-z0-9._-]`;
  }
  if (path === METADATA_FILE || path.startsWith(`${METADATA_FILE}.`) || path.includes('.inprogress-')) {
    return `path '${path}' is reserved`;
  }
  return undefined;
}

/** A data file name: a readable tag (operator id prefix or 'op'), the subtask, and randomness. */
export function dataFilePath(tag: string, subtask: number): string {
  const clean = tag.replace(/[^A-Za-z0-9_-]/g, '').slice(0, 32) || 'op';
  return `${clean}-${subtask}-${randomBytes(6).toString('hex')}.tsfs`;
}

/** `savepoint-<first 6 of jobId>-<12 random hex>`, as Flink names savepoint directories. */
export function savepointDirName(jobId: string): string {
  return `savepoint-${jobId.slice(0, 6)}-${randomBytes(6).toString('hex')}`;
}

export function checkpointDirName(checkpointId: number): string {
  return `chk-${checkpointId}`;
}

/**
 * A user may name a snapshot by its directory or by its `_metadata` file, as with `flink run -s`.
 * Returns the directory location (local path or s3:// URL, never with a trailing slash).
 */
export function snapshotDirOf(location: string): string {
  let dir = location.replace(/\/+$/, '');
  if (dir === METADATA_FILE) return '.';
  if (dir.endsWith(`/${METADATA_FILE}`)) dir = dir.slice(0, -METADATA_FILE.length - 1);
  return dir === '' ? '/' : dir;
}

/**
 * Where a native savepoint keeps its copy of a shared file (`<jobId>/shared/<name>`, relative to
 * the checkpoint root): `shared/<name>` in the savepoint directory; names are unique in a job's
 * `shared/` directory (FORMAT.md 3.4, copied files).
 */
export function copiedPath(sharedPath: string): string {
  return `shared/${sharedPath.slice(sharedPath.lastIndexOf('/') + 1)}`;
}
