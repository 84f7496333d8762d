/**
 * The files a Flink snapshot's handles point at, and the check that the ones beside `_metadata`
 * (relative handles, tag 6) are there with the size the handle records. Flink resolves a relative
 * path against the directory that holds `_metadata`; so does this check, through the store.
 */
import type { KeyedHandle, OperatorHandle, StreamHandle } from './model.ts';

export interface FileRef {
  /** As stored: relative to the snapshot directory (relative handles) or absolute. */
  readonly path: string;
  readonly size: number;
  readonly relative: boolean;
}

export type FileStatus = 'ok' | 'missing' | 'unsafe path' | 'not checked' | `size ${number} on disk`;

/** Leaves of a handle, in file order: inline bytes are counted, files listed. */
export interface Leaves {
  inlineBytes: number;
  files: FileRef[];
}

export function streamLeaves(h: StreamHandle | null, out: Leaves): Leaves {
  if (h === null) return out;
  switch (h.kind) {
    case 'inline':
      out.inlineBytes += h.size;
      break;
    case 'relative':
      out.files.push({ path: h.path, size: h.size, relative: true });
      break;
    case 'file':
      out.files.push({ path: h.path, size: h.size, relative: false });
      break;
    case 'segment':
      out.files.push({ path: h.path, size: h.size, relative: false });
      break;
    case 'key-groups':
      streamLeaves(h.delegate, out);
      break;
    case 'empty-segment':
      break;
  }
  return out;
}

export function keyedLeaves(h: KeyedHandle | null, out: Leaves): Leaves {
  if (h === null) return out;
  switch (h.kind) {
    case 'key-groups':
    case 'savepoint-key-groups':
      return streamLeaves(h.delegate, out);
    case 'incremental':
      streamLeaves(h.metaState, out);
      for (const f of [...h.shared, ...h.private]) streamLeaves(f.handle, out);
      return out;
    case 'changelog':
      for (const k of [...h.materialized, ...h.nonMaterialized]) keyedLeaves(k, out);
      return out;
    case 'changelog-inline':
      out.inlineBytes += h.size;
      return out;
    case 'changelog-file':
      for (const f of h.handles) streamLeaves(f.handle, out);
      return out;
  }
}

export function operatorLeaves(h: OperatorHandle | null, out: Leaves): Leaves {
  return h === null ? out : streamLeaves(h.delegate, out);
}

/** Why a stored relative path may not be joined to the snapshot directory, if it may not. */
export function unsafeRelativePath(path: string): boolean {
  return path === '' || path.startsWith('/') || path.includes('\0') || path.includes('\\') || /^[a-z][a-z0-9+.-]*:/i.test(path) || path.split('/').some((s) => s === '..' || s === '.' || s === '');
}

/**
 * Checks each distinct relative file once (several handles may share a file, as channel state
 * does): present with the recorded size, missing, or another size. `stat` is the store's; up to
 * 16 run at once, which matters on S3 (a request each) and costs nothing on disk.
 */
export async function checkRelativeFiles(
  refs: readonly FileRef[],
  stat: (path: string) => Promise<{ readonly size: number } | undefined>,
): Promise<Map<string, FileStatus>> {
  const out = new Map<string, FileStatus>();
  const toStat: FileRef[] = [];
  for (const ref of refs) {
    if (out.has(ref.path)) continue;
    if (!ref.relative) out.set(ref.path, 'not checked');
    else if (unsafeRelativePath(ref.path)) out.set(ref.path, 'unsafe path');
    else {
      out.set(ref.path, 'missing'); // replaced below; keeps the map in the handles' order
      toStat.push(ref);
    }
  }
  for (let i = 0; i < toStat.length; i += 16) {
    await Promise.all(
      toStat.slice(i, i + 16).map(async (ref) => {
        const info = await stat(ref.path);
        out.set(ref.path, info === undefined ? 'missing' : info.size === ref.size ? 'ok' : `size ${info.size} on disk`);
      }),
    );
  }
  return out;
}
