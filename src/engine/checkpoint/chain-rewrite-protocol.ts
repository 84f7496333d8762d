/**
 * Messages between a processing thread and the chain rewrite thread (chain-rewrite-thread.ts,
 * chain-rewrite-thread-main.ts). The changes cross packed and transferred (overlay-transfer.ts:
 * an upsert's value, or null for a deletion); the frames come back as one transferred buffer.
 */
import type { KeyedBlockKind } from '../../format/model.ts';
import type { FrameRef, PackedStateRef } from '../state/embedded/lmdb-snapshot-protocol.ts';
import type { PackedOverlay } from '../state/embedded/overlay-transfer.ts';

/** A block of a base chain, where the thread reads it: `path` under the request's `root`. */
export interface RewriteBlock {
  readonly path: string;
  readonly offset: number;
  readonly length: number;
  readonly entries: number;
  readonly crc: number;
  readonly kind: KeyedBlockKind;
}

export interface RewriteState extends PackedStateRef {
  /** Its key group's base chain, in replay order (empty: the group held nothing). */
  readonly chain: readonly RewriteBlock[];
  /** Every key changed since the base: its stored value now, or null (deleted). */
  readonly changes: PackedOverlay;
}

/** A key group the thread writes from a snapshot's recorded changes (`record`): a delta, or full blocks from its base chains (per state) with the changes over them. */
export interface RecordedGroupRequest {
  readonly keyGroup: number;
  readonly full: boolean;
  /** Per state (full only): its base chain in replay order, empty where the group held nothing. */
  readonly chains: readonly (readonly RewriteBlock[])[];
}

/** What the thread wrote for a RecordedGroupRequest, its frames in the reply's `bytes`; `failed`: it could not (the processing thread writes the group). */
export type RecordedGroupFrames =
  | { readonly keyGroup: number; readonly full: false; readonly states: readonly { readonly upserts: readonly FrameRef[]; readonly deletions: readonly FrameRef[] }[]; readonly frameLimit: number }
  | { readonly keyGroup: number; readonly full: true; readonly states: readonly (readonly FrameRef[])[]; readonly entries: number; readonly frameLimit: number }
  | { readonly keyGroup: number; readonly failed: string };

export type ToRewriteThread =
  | {
      readonly type: 'rewrite';
      readonly request: number;
      /** The checkpoint root on local disk: chain paths are relative to it. */
      readonly root: string;
      readonly keyGroup: number;
      readonly maxParallelism: number;
      /** In state id order: every state of the backend. */
      readonly states: readonly RewriteState[];
      readonly frameLimit: number;
    }
  /**
   * A snapshot's changes since its base in every key group (store keys; applied in order, the
   * last one of a key wins) and the key groups to write from them, in the order the writer writes
   * them: the thread carries the frame limit from one to the next, as the writer would.
   */
  | {
      readonly type: 'record';
      readonly request: number;
      readonly root: string;
      readonly maxParallelism: number;
      /** In state id order: every state of the backend. */
      readonly states: readonly PackedStateRef[];
      readonly changes: PackedOverlay;
      readonly groups: readonly RecordedGroupRequest[];
      readonly frameLimit: number;
    };

export type FromRewriteThread =
  | { readonly type: 'ready' }
  | { readonly type: 'frames'; readonly request: number; readonly states: readonly (readonly FrameRef[])[]; readonly bytes: Uint8Array; readonly entries: number; readonly frameLimit: number }
  | { readonly type: 'recorded'; readonly request: number; readonly groups: readonly RecordedGroupFrames[]; readonly bytes: Uint8Array }
  | { readonly type: 'failed'; readonly request: number; readonly message: string };
