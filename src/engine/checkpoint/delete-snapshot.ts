/**
 * Deletes a checkpoint or savepoint directory: `_metadata` first, so a half-deleted snapshot
 * never looks like one, then every other object, then (locally) the empty directory.
 */
import { rm } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import { METADATA_FILE } from '../../format/snapshot-paths.ts';
import { type OpenStoreOptions, openStore } from '../../storage/open-store.ts';

export async function deleteSnapshot(location: string, storeOptions: OpenStoreOptions = {}): Promise<void> {
  const store = await openStore(location, storeOptions);
  await store.delete(METADATA_FILE);
  for await (const { key } of store.list('')) await store.delete(key);
  if (/^file:/i.test(location)) await rm(fileURLToPath(location), { recursive: true, force: true });
  else if (!/^[a-z][a-z0-9+.-]*:/i.test(location)) await rm(location, { recursive: true, force: true });
}
