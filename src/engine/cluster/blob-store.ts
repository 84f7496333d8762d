/**
 * The JobManager's store of submitted job code (Flink's BlobServer): each bundle once, named by
 * its SHA-256, in `<working dir>/blobs/` (or under `blob.storage.directory`: jobManagerBlobDirectory). A job's record names its bundle's key; its JobMaster thread loads
 * the bundle from here, and TaskManagers fetch it with `GET /blobs/:key` into their own cache.
 */
import { createHash, randomBytes } from 'node:crypto';
import { mkdir, readFile, readdir, rename, rm, writeFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { BUNDLE_SUFFIX, bundleKey, isBundleKey } from './job-bundle.ts';

/** Flink's key: where the JobManager keeps submitted code and TaskManagers cache it. */
export const BLOB_STORAGE_DIRECTORY_KEY = 'blob.storage.directory';

/**
 * Where a JobManager keeps submitted job code. Without `blob.storage.directory`: its working
 * directory's `blobs/`. With it (Flink's key covers the JobManager's blob server too): a directory
 * under it named after the working directory, so the same cluster finds its code again after a
 * restart (jobs are recovered from the working directory), while TaskManagers' caches beside it
 * and other clusters configured with the same directory are never touched by the clean-up at
 * start (which deletes every bundle it does not know).
 */
export function jobManagerBlobDirectory(workingDirectory: string, blobStorageDirectory: string | undefined): string {
  if (blobStorageDirectory === undefined) return join(workingDirectory, 'blobs');
  const cluster = createHash('sha256').update(resolve(workingDirectory)).digest('hex').slice(0, 16);
  return join(resolve(blobStorageDirectory), `tsflink-jobmanager-blobs-${cluster}`);
}

export class BlobStore {
  constructor(readonly directory: string) {}

  /** Stores the bundle (written whole, then renamed: a half-written file never has the name). */
  async put(code: string): Promise<string> {
    const key = bundleKey(code);
    await mkdir(this.directory, { recursive: true });
    const temp = join(this.directory, `.${key}.${randomBytes(4).toString('hex')}.tmp`);
    await writeFile(temp, code);
    await rename(temp, this.path(key));
    return key;
  }

  path(key: string): string {
    if (!isBundleKey(key)) throw new Error(`not a job bundle key: ${key}`);
    return join(this.directory, `${key}${BUNDLE_SUFFIX}`);
  }

  /** Deletes every bundle but these (at a JobManager's start, before anything is submitted). */
  async keepOnly(keys: ReadonlySet<string>): Promise<void> {
    const files = await readdir(this.directory).catch(() => []);
    await Promise.all(files.filter((f) => !keys.has(f.slice(0, -BUNDLE_SUFFIX.length)) || !f.endsWith(BUNDLE_SUFFIX)).map((f) => rm(join(this.directory, f), { force: true })));
  }

  /** The bundle, or undefined when this store does not have it. */
  async get(key: string): Promise<string | undefined> {
    if (!isBundleKey(key)) return undefined;
    return readFile(this.path(key), 'utf8').catch(() => undefined);
  }
}
