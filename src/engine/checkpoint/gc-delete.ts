/**
 * Deletes what a GcPlan says: whole checkpoints first (each `_metadata` first, so a half-deleted
 * checkpoint never looks complete), then the shared files no remaining checkpoint references.
 */
import type { OpenStoreOptions } from '../../storage/open-store.ts';
import type { ObjectStore } from '../../storage/object-store.ts';
import { deleteSnapshot } from './delete-snapshot.ts';
import type { GcPlan } from './gc-plan.ts';

export async function deleteGarbage(store: ObjectStore, plan: GcPlan, storeOptions: OpenStoreOptions = {}): Promise<void> {
  for (const item of plan.items) {
    if (item.action === 'delete' && item.kind === 'checkpoint') await deleteSnapshot(item.location, storeOptions);
  }
  for (const item of plan.items) {
    if (item.action === 'delete' && item.kind === 'shared-file') await store.delete(item.path);
  }
}
