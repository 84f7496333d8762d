/**
 * A TaskManager's cache of job code (Flink's BlobCache): a bundle named in a deploy is fetched
 * once from the JobManager (`GET /blobs/:key`), checked against its key (its SHA-256), and kept
 * in the TaskManager's own directory, so the TaskManager needs nothing of the user's files and
 * a restarted job's slots load the code it was submitted with.
 */
import { randomBytes } from 'node:crypto';
import { access, mkdir, rename, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { BUNDLE_SUFFIX, bundleKey, isBundleKey } from '../job-bundle.ts';

export interface BlobCache {
  /** The local path of the bundle, fetched first when this cache does not have it. */
  path(key: string): Promise<string>;
  /** Deletes the cache's directory (the TaskManager stops). */
  remove(): Promise<void>;
}

export function blobCache(directory: string, jobManagerUrl: string, http: typeof fetch = fetch): BlobCache {
  const fetching = new Map<string, Promise<string>>();
  const fetchOnce = async (key: string): Promise<string> => {
    const target = join(directory, `${key}${BUNDLE_SUFFIX}`);
    if (await access(target).then(() => true, () => false)) return target;
    const response = await http(`${jobManagerUrl}/blobs/${key}`).catch((err: unknown) => {
      throw new Error(`cannot fetch the job's code from the JobManager at ${jobManagerUrl}: ${err instanceof Error ? err.message : String(err)}`);
    });
    if (!response.ok) throw new Error(`cannot fetch the job's code from the JobManager at ${jobManagerUrl}: HTTP ${response.status} ${(await response.text()).slice(0, 200)}`);
    const { code } = (await response.json()) as { code?: unknown };
    if (typeof code !== 'string' || bundleKey(code) !== key) throw new Error(`the job's code fetched from the JobManager at ${jobManagerUrl} does not match its key ${key}`);
    await mkdir(directory, { recursive: true });
    const temp = join(directory, `.${key}.${randomBytes(4).toString('hex')}.tmp`);
    await writeFile(temp, code);
    await rename(temp, target);
    return target;
  };
  return {
    path: (key) => {
      if (!isBundleKey(key)) return Promise.reject(new Error(`not a job bundle key: ${key}`));
      let pending = fetching.get(key);
      if (pending === undefined) {
        pending = fetchOnce(key);
        fetching.set(key, pending);
        // A failed fetch is tried again by the next deploy.
        pending.catch(() => fetching.delete(key));
      }
      return pending;
    },
    remove: () => rm(directory, { recursive: true, force: true }),
  };
}
