/**
 * What a checkpoint directory (`execution.checkpointing.dir`) holds, for `flink gc`: its
 * checkpoints `<jobId>/chk-<n>/` (complete and valid, without `_metadata`, damaged, or
 * savepoints that were written there), the files under `<jobId>/shared/`, and what else is
 * there (left alone). Each checkpoint with a `_metadata` is verified as `flink verify` does, so
 * "damaged" means what verify calls corrupt.
 */
import { posix } from 'node:path';
import { FormatError } from '../../errors.ts';
import { METADATA_FILE } from '../../format/snapshot-paths.ts';
import { SnapshotReader } from '../../format/snapshot-reader.ts';
import { verifySnapshot } from '../../format/verify-snapshot.ts';
import type { ObjectInfo, ObjectStore } from '../../storage/object-store.ts';

export type ScannedState =
  /** `_metadata` present and every file verified. */
  | 'complete'
  /** No `_metadata`: never completed, or half deleted. */
  | 'abandoned'
  /** `_metadata` unreadable, or its files failing verification. */
  | 'damaged'
  /** A savepoint someone wrote into the checkpoint directory. */
  | 'savepoint'
  /** Written in a format this tsflink cannot read (a newer one): not known to be damaged. */
  | 'unreadable';

export interface ScannedCheckpoint {
  /** `<jobId>/chk-<n>`, relative to the checkpoint directory. */
  readonly path: string;
  /** Its full location: a local path or an s3:// URL. */
  readonly location: string;
  readonly jobId: string;
  readonly checkpointId: number;
  readonly files: number;
  readonly bytes: number;
  readonly state: ScannedState;
  /** From `_metadata`, when it can be read. */
  readonly createdAt: number | null;
  /** The first problem found, for a damaged or unreadable checkpoint. */
  readonly problem: string | null;
  /** Keys (relative to the checkpoint directory) of the files its `_metadata` names; null when it cannot be read. */
  readonly references: readonly string[] | null;
}

export interface ScannedSharedFile {
  readonly key: string;
  readonly jobId: string;
  readonly size: number;
}

/** A `savepoint-*` directory (at the top or in a job's directory): never deleted, only shown. */
export interface ScannedSavepoint {
  readonly path: string;
  readonly files: number;
  readonly bytes: number;
}

export interface CheckpointDirScan {
  readonly location: string;
  readonly checkpoints: readonly ScannedCheckpoint[];
  readonly shared: readonly ScannedSharedFile[];
  readonly savepoints: readonly ScannedSavepoint[];
  /** Objects that are neither: left alone. */
  readonly other: readonly ObjectInfo[];
}

const CHECKPOINT_DIR = /^chk-(\d+)$/;

/**
 * `store` is rooted at the checkpoint directory `location`; `open` opens a store rooted at one
 * of its checkpoints (by full location), for verification.
 */
export async function scanCheckpointDir(store: ObjectStore, location: string, open: (location: string) => Promise<ObjectStore>): Promise<CheckpointDirScan> {
  const groups = new Map<string, ObjectInfo[]>();
  const shared: ScannedSharedFile[] = [];
  const other: ObjectInfo[] = [];
  const savepoints = new Map<string, ObjectInfo[]>();
  for await (const object of store.list('')) {
    const segments = object.key.split('/');
    const [jobId = '', second = ''] = segments;
    if (segments.length >= 3 && CHECKPOINT_DIR.test(second)) {
      const path = `${jobId}/${second}`;
      let group = groups.get(path);
      if (group === undefined) groups.set(path, (group = []));
      group.push(object);
    } else if (segments.length >= 2 && jobId.startsWith('savepoint-')) {
      savepoints.set(jobId, [...(savepoints.get(jobId) ?? []), object]);
    } else if (segments.length >= 3 && second.startsWith('savepoint-')) {
      savepoints.set(`${jobId}/${second}`, [...(savepoints.get(`${jobId}/${second}`) ?? []), object]);
    } else if (segments.length >= 3 && second === 'shared') {
      shared.push({ key: object.key, jobId, size: object.size });
    } else {
      other.push(object);
    }
  }
  const root = location.replace(/\/+$/, '');
  const checkpoints: ScannedCheckpoint[] = [];
  for (const [path, objects] of [...groups].sort(([a], [b]) => comparePaths(a, b))) {
    const [jobId = '', name = ''] = path.split('/');
    const base = {
      path,
      location: `${root}/${path}`,
      jobId,
      checkpointId: Number(CHECKPOINT_DIR.exec(name)![1]),
      files: objects.length,
      bytes: objects.reduce((a, o) => a + o.size, 0),
    };
    if (!objects.some((o) => o.key === `${path}/${METADATA_FILE}`)) {
      checkpoints.push({ ...base, state: 'abandoned', createdAt: null, problem: null, references: null });
      continue;
    }
    checkpoints.push({ ...base, ...(await examine(await open(base.location), path)) });
  }
  return {
    location,
    checkpoints,
    shared: shared.sort((a, b) => comparePaths(a.key, b.key)),
    savepoints: [...savepoints].sort(([a], [b]) => comparePaths(a, b)).map(([path, objects]) => ({ path, files: objects.length, bytes: objects.reduce((a, o) => a + o.size, 0) })),
    other,
  };
}

async function examine(store: ObjectStore, path: string): Promise<Pick<ScannedCheckpoint, 'state' | 'createdAt' | 'problem' | 'references'>> {
  let report;
  try {
    report = await verifySnapshot(store);
  } catch (err) {
    if (err instanceof FormatError && err.kind === 'unsupported') return { state: 'unreadable', createdAt: null, problem: err.problem, references: null };
    throw err;
  }
  const metadata = await SnapshotReader.open(store).then(
    (r) => r.metadata,
    () => undefined,
  );
  const references = metadata?.files.map((f) => (f.shared === true ? f.path : posix.join(path, f.path))) ?? null; // a shared path is root-relative (FORMAT.md 3.4)
  const createdAt = metadata?.createdAt ?? null;
  if (!report.valid) {
    const first = report.problems[0]!;
    return { state: 'damaged', createdAt, problem: `${first.file}${first.offset === undefined ? '' : ` at offset ${first.offset}`}: ${first.message}`, references };
  }
  return { state: metadata?.kind === 'savepoint' ? 'savepoint' : 'complete', createdAt, problem: null, references };
}

/** By job, then by checkpoint number (chk-9 before chk-10), then as text. */
function comparePaths(a: string, b: string): number {
  const [ja = '', ca = ''] = a.split('/');
  const [jb = '', cb = ''] = b.split('/');
  if (ja !== jb) return ja < jb ? -1 : 1;
  const na = CHECKPOINT_DIR.exec(ca);
  const nb = CHECKPOINT_DIR.exec(cb);
  if (na !== null && nb !== null) return Number(na[1]) - Number(nb[1]);
  return a < b ? -1 : a > b ? 1 : 0;
}
