import { SnapshotReader } from '../../src/format/snapshot-reader.ts';
import type { ObjectStore } from '../../src/storage/object-store.ts';

/** Opens a snapshot and reads every state it holds, as a restore would. */
export async function readEverything(store: ObjectStore): Promise<unknown[]> {
  const reader = await SnapshotReader.open(store);
  const out: unknown[] = [];
  for (const op of reader.metadata.operators) {
    for (const s of op.keyedStates) for await (const b of reader.readKeyed(op.uid, s.name)) out.push(b);
    for (const s of op.operatorStates) for await (const b of reader.readOperatorState(op.uid, s.name)) out.push(b);
  }
  return out;
}
