/**
 * Copies one immutable object between stores, as cheaply as the stores allow: a hard link or a
 * server-side copy where the target store can do it (ObjectStore.copyFrom), else the bytes are
 * streamed through this process in ranged reads. A native savepoint brings the shared files its
 * chains refer to into its own directory this way.
 */
import type { CopyHow, ObjectStore } from './object-store.ts';
import { ObjectNotFoundError } from './object-store.ts';

/** Ranged reads of this size: a few in flight per file, never the whole file in memory. */
const CHUNK = 8 * 1024 * 1024;

export async function copyObject(source: ObjectStore, sourceKey: string, target: ObjectStore, key: string): Promise<CopyHow> {
  const cheap = await target.copyFrom?.(source, sourceKey, key);
  if (cheap !== undefined) return cheap;
  const info = await source.stat(sourceKey);
  if (info === undefined) throw new ObjectNotFoundError(source.describe(sourceKey));
  const writer = await target.createWriter(key);
  try {
    for (let offset = 0; offset < info.size; offset += CHUNK) {
      await writer.write(await source.getRange(sourceKey, offset, Math.min(CHUNK, info.size - offset)));
    }
    await writer.close();
  } catch (err) {
    await writer.abort();
    throw err;
  }
  return 'streamed';
}
