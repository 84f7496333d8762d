/**
 * The JobManager's store of submitted job code (Flink's BlobServer): each bundle once, named by
 * its SHA-256, in `<working dir>/blobs/`. A job's record names its bundle's key; its worker loads
 * the bundle from here, and TaskManagers fetch it with `GET /blobs/:key` into their own cache.
 */
import { randomBytes } from 'node:crypto';
import { mkdir, readFile, readdir, rename, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { BUNDLE_SUFFIX, bundleKey, isBundleKey } from './job-bundle.ts';

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
