/**
 * Deletes one item of a GcPlan: a whole checkpoint `_metadata` first (so a half-deleted
 * checkpoint never looks complete, `deleteSnapshot`), or one shared file. A plan lists its
 * checkpoints before its shared files, so deleting in its order never leaves a remaining
 * checkpoint pointing at a deleted file.
 */
import type { ObjectStore } from '../../storage/object-store.ts';
import type { OpenStoreOptions } from '../../storage/open-store.ts';
import { deleteSnapshot } from './delete-snapshot.ts';
import type { GcItem } from './gc-plan.ts';

export async function deleteItem(store: ObjectStore, item: GcItem, storeOptions: OpenStoreOptions = {}): Promise<void> {
  if (item.action !== 'delete') return;
  if (item.kind === 'checkpoint') await deleteSnapshot(item.location, storeOptions);
  else if (item.kind === 'shared-file') await store.delete(item.path);
}
