/**
 * Messages between an lmdb store's processing thread and the snapshot thread that reads its
 * snapshots (lmdb-snapshot-thread.ts, lmdb-snapshot-thread-main.ts). An overlay crosses packed
 * into buffers of its own, transferred (overlay-transfer.ts); a block's frames come back as one
 * transferred buffer.
 */
import type { PackedOverlay } from './overlay-transfer.ts';

/** A value-like state without TTL whose stored bytes go into its blocks as they are. */
export interface PackedStateRef {
  /** `<operator uid>/<state name>`, as the writer names it in errors. */
  readonly label: string;
  readonly kind: 'value' | 'reducing' | 'aggregating';
}

export type ToSnapshotThread =
  /** Open the environment in `directory`; `generation` is the store's write counter (lmdb-store.ts). */
  | { readonly type: 'open'; readonly store: number; readonly directory: string; readonly generation: Int32Array }
  | { readonly type: 'close'; readonly store: number; readonly request: number }
  /**
   * Begin read `read` of `store` now, if the store has not been written since the processing
   * thread's snapshot, whose write counter was `generation`: then it sees what that snapshot sees.
   */
  | { readonly type: 'begin'; readonly store: number; readonly read: number; readonly generation: number }
  /** One key group of read `read`, with `overlay` (sorted by key, null: deleted) over the store. */
  | {
      readonly type: 'keyGroup';
      readonly request: number;
      readonly read: number;
      readonly keyGroup: number;
      readonly maxParallelism: number;
      readonly overlay: PackedOverlay;
      /** In state id order: every state of the backend. */
      readonly states: readonly PackedStateRef[];
      /** The processing thread's writer's frame limit: the thread's writer starts from it. */
      readonly frameLimit: number;
    }
  | { readonly type: 'release'; readonly read: number };

/** A frame of a block: item count, and where its payload is in `KeyGroupFrames.bytes`. */
export type FrameRef = readonly [count: number, start: number, length: number];

export interface KeyGroupFrames {
  /** Per state, in state id order: the frames of its block (none when it has no entries). */
  readonly states: readonly (readonly FrameRef[])[];
  readonly bytes: Uint8Array;
  /** Store entries read. */
  readonly entries: number;
  /** The thread's writer's frame limit after the last block: the processing thread's writer goes on from it. */
  readonly frameLimit: number;
}

export type FromSnapshotThread =
  | { readonly type: 'ready' }
  | { readonly type: 'begun'; readonly read: number; readonly ok: boolean }
  | ({ readonly type: 'frames'; readonly request: number } & KeyGroupFrames)
  /** `user`: a UserError (a value the format refuses), to be thrown as the in-thread path would. */
  | { readonly type: 'failed'; readonly request: number; readonly message: string; readonly user: boolean }
  | { readonly type: 'closed'; readonly request: number };
