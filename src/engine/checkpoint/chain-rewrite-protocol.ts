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

export type ToRewriteThread = {
  readonly type: 'rewrite';
  readonly request: number;
  /** The checkpoint root on local disk: chain paths are relative to it. */
  readonly root: string;
  readonly keyGroup: number;
  readonly maxParallelism: number;
  /** In state id order: every state of the backend. */
  readonly states: readonly RewriteState[];
  readonly frameLimit: number;
};

export type FromRewriteThread =
  | { readonly type: 'ready' }
  | { readonly type: 'frames'; readonly request: number; readonly states: readonly (readonly FrameRef[])[]; readonly bytes: Uint8Array; readonly entries: number; readonly frameLimit: number }
  | { readonly type: 'failed'; readonly request: number; readonly message: string };
