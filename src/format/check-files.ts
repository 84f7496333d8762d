/**
 * Whether every data file a snapshot's `_metadata` refers to is there with its recorded size, no
 * bytes read: one stat per file, or on S3 listings of their directories (ObjectStore.statMany). `flink inspect` runs it so a checkpoint whose shared files were
 * lost (FORMAT.md 3.4) does not look restorable; `flink verify` looks the files up the same way
 * (statSnapshotFiles), then reads every byte.
 */
import type { ObjectInfo, ObjectStore } from '../storage/object-store.ts';
import { METADATA_FILE } from './snapshot-paths.ts';
import type { SnapshotReader } from './snapshot-reader.ts';

export interface FileProblem {
  /** Where the file should be: a local path or an s3:// URL. */
  readonly file: string;
  /** A file of the job's `shared/` directory (version 3), read through the checkpoint root. */
  readonly shared: boolean;
  readonly problem: 'missing' | 'size';
  /** The size found, for `size`. */
  readonly size?: number;
  readonly recordedSize: number;
}

/** Stats in flight at once: a HEAD each on S3, where one at a time would be slow for many files. */
const CONCURRENT_STATS = 16;

/** The files of `reader`'s snapshot that are missing or of another size than recorded, in file-table order. */
export async function checkFiles(reader: SnapshotReader): Promise<FileProblem[]> {
  const files = reader.metadata.files;
  const stores = files.map((_, index) => reader.storeForFile(index));
  const infos = await statSnapshotFiles(reader);
  const found: FileProblem[] = [];
  for (const [index, file] of files.entries()) {
    const info = infos[index];
    const where = { file: stores[index]!.describe(file.path), shared: file.shared === true };
    if (info === undefined) found.push({ ...where, problem: 'missing', recordedSize: file.size });
    else if (info.size !== file.size) found.push({ ...where, problem: 'size', size: info.size, recordedSize: file.size });
  }
  return found;
}

/**
 * The size of each file of `reader`'s file table as found (undefined: missing), in table order:
 * `flink verify` looks its files up so too, so that it makes no HEAD per file on S3 either.
 */
export async function statSnapshotFiles(reader: SnapshotReader): Promise<(ObjectInfo | undefined)[]> {
  const files = reader.metadata.files;
  return statFiles(files.map((_, index) => reader.storeForFile(index)), files.map((f) => f.path));
}

/** `stat` of `paths[i]` in `stores[i]`: a store that can (S3: from listings) answers for all its files at once, else one stat each. */
async function statFiles(stores: readonly ObjectStore[], paths: readonly string[]): Promise<(ObjectInfo | undefined)[]> {
  const infos = new Array<ObjectInfo | undefined>(paths.length);
  const single: number[] = [];
  for (const store of new Set(stores)) {
    const indexes = [...stores.keys()].filter((i) => stores[i] === store);
    // A listing may be refused where reading is not (no s3:ListBucket): then stat each, as without it.
    const listed = await store.statMany?.(indexes.map((i) => paths[i]!)).catch(() => undefined);
    if (listed === undefined) single.push(...indexes);
    else for (const i of indexes) infos[i] = listed.get(paths[i]!);
  }
  let next = 0;
  const worker = async (): Promise<void> => {
    while (next < single.length) {
      const index = single[next++]!;
      infos[index] = await stores[index]!.stat(paths[index]!);
    }
  };
  await Promise.all(Array.from({ length: Math.min(CONCURRENT_STATS, single.length) }, worker));
  return infos;
}

/**
 * One line for a problem: the file, what is wrong, and that the snapshot cannot be restored from
 * (`entries`: nor its entries read, for `inspect --entries`, `--keys` and `--key`).
 */
export function describeFileProblem(p: FileProblem, reader: SnapshotReader, entries = false): string {
  const what =
    p.problem === 'missing'
      ? `missing (${METADATA_FILE} refers to it${p.shared ? ' as a shared file' : ''})`
      : `size is ${p.size ?? 0} bytes, ${METADATA_FILE} says ${p.recordedSize}`;
  const consequence = `${entries ? 'its entries cannot be read and ' : ''}this ${reader.metadata.kind} cannot be restored from as it is`;
  return `${p.file}: ${what}; ${consequence} (run 'flink verify ${reader.store.location}' to check every byte)`;
}
