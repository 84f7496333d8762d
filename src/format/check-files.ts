/**
 * Whether every data file a snapshot's `_metadata` refers to is there with its recorded size: one
 * stat per file, no bytes read. `flink inspect` runs it so a checkpoint whose shared files were
 * lost (FORMAT.md 3.4) does not look restorable; `flink verify` reads every byte instead.
 */
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
  const found: (FileProblem | undefined)[] = new Array<FileProblem | undefined>(files.length);
  let next = 0;
  const worker = async (): Promise<void> => {
    while (next < files.length) {
      const index = next++;
      const file = files[index]!;
      const store = reader.storeForFile(index);
      const info = await store.stat(file.path);
      const where = { file: store.describe(file.path), shared: file.shared === true };
      if (info === undefined) found[index] = { ...where, problem: 'missing', recordedSize: file.size };
      else if (info.size !== file.size) found[index] = { ...where, problem: 'size', size: info.size, recordedSize: file.size };
    }
  };
  await Promise.all(Array.from({ length: Math.min(CONCURRENT_STATS, files.length) }, worker));
  return found.filter((p) => p !== undefined);
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
