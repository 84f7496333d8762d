/**
 * Snapshot locations between a user's shell and the cluster: how they are shown (local paths
 * as Flink shows them, `file:/abs/path`; s3:// as it is) and how a path typed in one directory
 * is handed to a JobManager that runs in another (made absolute; URLs stay as they are).
 */
import { isAbsolute, resolve } from 'node:path';

/** A scheme such as `s3:` or `file:`. */
export function hasScheme(location: string): boolean {
  return /^[a-z][a-z0-9+.-]*:/i.test(location);
}

export function externalPath(location: string): string {
  if (hasScheme(location)) return location;
  return `file:${isAbsolute(location) ? location : resolve(location)}`;
}

/** A path the user typed, relative to `cwd`, as the JobManager must get it. */
export function absoluteLocation(location: string, cwd: string): string {
  return hasScheme(location) || isAbsolute(location) ? location : resolve(cwd, location);
}
