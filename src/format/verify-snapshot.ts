/**
 * The full check behind `flink verify`: reads every byte of a snapshot and reports every problem
 * with its file and offset, instead of stopping at the first as a reader does.
 */
import { FormatError } from '../errors.ts';
import type { ObjectStore } from '../storage/object-store.ts';
import { checkHeaderBytes, readFrames } from './block-reader.ts';
import { statSnapshotFiles } from './check-files.ts';
import { arrayHeader } from './byte-sink.ts';
import { InvalidKeyError, decodeCanonicalKey, encodeCanonicalKey } from './canonical-key.ts';
import { keyGroupForBytes } from './key-groups.ts';
import type { BlockRef, KeyedStateKind } from './model.ts';
import { ScanError, readArrayHeader, scanValue } from './msgpack-scan.ts';
import { RangeSource } from './range-source.ts';
import { limitsForFiles, planReads, readPlanning } from './read-plan.ts';
import { METADATA_FILE } from './snapshot-paths.ts';
import { SnapshotReader, checkDataHeader } from './snapshot-reader.ts';
import { hasTtlLayout, ttlLayoutProblem } from './ttl-layout.ts';
import { createValueUnpackr } from './value-codec.ts';

export interface VerifyProblem {
  readonly file: string;
  readonly offset?: number;
  readonly message: string;
}

export interface VerifyReport {
  readonly location: string;
  readonly valid: boolean;
  readonly formatVersion?: number;
  readonly kind?: string;
  readonly problems: VerifyProblem[];
  readonly checked: { files: number; blocks: number; entries: number; bytes: number };
}

interface BlockJob {
  readonly block: BlockRef;
  readonly owner: string;
  /** Keyed blocks: the key group and max parallelism every key must hash to. */
  readonly keyed?: { keyGroup: number; maxParallelism: number; kind: KeyedStateKind; ttl: boolean; deletions: boolean };
  readonly broadcast?: boolean;
}

export interface VerifyOptions {
  /** Entries and block bytes checked so far, after each frame (for a progress line). */
  readonly onProgress?: ((entries: number, bytes: number) => void) | undefined;
}

export async function verifySnapshot(store: ObjectStore, options: VerifyOptions = {}): Promise<VerifyReport> {
  let progressBytes = 0;
  const problems: VerifyProblem[] = [];
  const checked = { files: 0, blocks: 0, entries: 0, bytes: 0 };
  const report = (extra: Partial<VerifyReport> = {}): VerifyReport => ({ location: store.location, valid: problems.length === 0, problems, checked, ...extra });
  let reader: SnapshotReader;
  try {
    reader = await SnapshotReader.open(store);
  } catch (err) {
    // A file this tsflink cannot read is not known to be corrupt: that is an error, not a finding.
    if (!(err instanceof FormatError) || err.kind === 'unsupported') throw err;
    problems.push({ file: err.file, ...(err.offset === undefined ? {} : { offset: err.offset }), message: err.problem });
    return report();
  }
  const meta = reader.metadata;
  checked.bytes += reader.metadataSize;
  const badFiles = new Set<number>();
  // As `flink inspect` does: on S3 from listings of the files' directories, not a HEAD per file.
  const infos = await statSnapshotFiles(reader);
  for (const [index, file] of meta.files.entries()) {
    // A shared file (version 3) is read from the checkpoint root, two directories up.
    const fileStore = reader.storeForFile(index);
    const where = fileStore.describe(file.path);
    checked.files += 1;
    const info = infos[index];
    if (info === undefined) {
      problems.push({ file: where, message: `missing (referenced by ${METADATA_FILE}${file.shared === true ? ' as a shared file' : ''})` });
      badFiles.add(index);
      continue;
    }
    checked.bytes += info.size;
    if (info.size !== file.size) problems.push({ file: where, message: `size is ${info.size} bytes, ${METADATA_FILE} says ${file.size}` });
    try {
      await checkHeaderBytes(fileStore, file.path, (offset, length) => fileStore.getRange(file.path, offset, length), (bytes) => checkDataHeader(bytes, where, meta.formatVersion));
    } catch (err) {
      problems.push(toProblem(err, where));
    }
  }

  const jobs: BlockJob[] = [];
  for (const op of meta.operators) {
    for (const s of op.keyedStates) {
      for (const block of s.blocks) {
        jobs.push({ block, owner: `${op.uid}/${s.name} key group ${block.keyGroup}`, keyed: { keyGroup: block.keyGroup, maxParallelism: op.maxParallelism, kind: s.kind, ttl: hasTtlLayout(s), deletions: block.kind === 'deletions' } });
      }
    }
    for (const s of op.operatorStates) {
      for (const [subtask, block] of s.partitions.entries()) {
        if (block !== null) jobs.push({ block, owner: `${op.uid}/${s.name} subtask ${subtask}`, broadcast: s.kind === 'broadcast' });
      }
    }
  }
  const unpackr = createValueUnpackr();
  // Nearby blocks of a file are fetched as one range (read-plan.ts): O(files) requests, not O(blocks).
  const readable = readPlanning.enabled ? jobs.filter((job) => !badFiles.has(job.block.file)).map((job) => job.block) : [];
  const source = new RangeSource(planReads(readable, limitsForFiles(new Set(readable.map((b) => b.file)).size)));
  for (const job of jobs) {
    if (badFiles.has(job.block.file)) continue;
    const path = meta.files[job.block.file]!.path;
    const fileStore = reader.storeForFile(job.block.file);
    const where = fileStore.describe(path);
    checked.blocks += 1;
    // A deletions block (version 3) holds one array per frame: the keys, no values.
    const keysOnly = job.keyed?.deletions === true;
    try {
      const seen = new Set<string>();
      for await (const frame of readFrames(fileStore, path, job.block, source.fetcher(job.block.file, fileStore, path))) {
        const fail = (offset: number, message: string): never => {
          throw new FormatError(where, frame.offset + 12 + offset, `${message} (${job.owner})`);
        };
        let end = 0;
        let valuesAt = 0;
        try {
          if ((job.keyed !== undefined && !keysOnly) || job.broadcast === true) valuesAt = scanValue(frame.payload, 0);
          end = scanValue(frame.payload, valuesAt);
        } catch (err) {
          if (err instanceof ScanError) fail(err.offset, err.message);
          throw err;
        }
        if (end !== frame.payload.length) fail(end, `${frame.payload.length - end} bytes after the frame's arrays`);
        const decoded = unpackr.unpackMultiple(frame.payload) as unknown[];
        if (!decoded.every((a) => Array.isArray(a) && a.length === frame.count)) fail(0, `frame should hold arrays of ${frame.count} items`);
        if (job.keyed !== undefined || job.broadcast === true) {
          checkKeys(decoded[0] as unknown[], frame.payload, seen, job, fail);
        }
        if (job.keyed !== undefined && !keysOnly) {
          const { kind, ttl } = job.keyed;
          const problem = (decoded[1] as unknown[]).map((v) => (ttl ? ttlLayoutProblem(kind, v) : valueProblem(kind, v))).find((p) => p !== undefined);
          if (problem !== undefined) fail(0, problem);
          if (job.keyed.kind === 'map') checkUserKeys(frame.payload, valuesAt, fail);
        }
        checked.entries += frame.count;
        progressBytes += 12 + frame.payload.length;
        options.onProgress?.(checked.entries, progressBytes);
      }
    } catch (err) {
      problems.push(toProblem(err, where));
    }
  }
  return report({ formatVersion: meta.formatVersion, kind: meta.kind });
}

/** Keys must be canonical (5.1), unique, and in the block's key group. */
function checkKeys(keys: unknown[], payload: Buffer, seen: Set<string>, job: BlockJob, fail: (offset: number, message: string) => never): void {
  let position = arrayHeader(keys.length).length;
  for (const key of keys) {
    let bytes: Uint8Array;
    try {
      bytes = encodeCanonicalKey(key);
    } catch (err) {
      return fail(position, `key is not a valid key: ${err instanceof Error ? err.message : String(err)}`);
    }
    if (!payload.subarray(position, position + bytes.length).equals(bytes)) fail(position, 'key is not in canonical encoding');
    const id = Buffer.from(bytes).toString('latin1');
    if (seen.has(id)) fail(position, 'key appears twice');
    seen.add(id);
    if (job.keyed !== undefined) {
      const group = keyGroupForBytes(bytes, job.keyed.maxParallelism);
      if (group !== job.keyed.keyGroup) fail(position, `key belongs to key group ${group}, not ${job.keyed.keyGroup}`);
    }
    position += bytes.length;
  }
}

/**
 * The user keys of map state values must be canonical (5.2) and unique within their value. A
 * decoded value cannot tell (a float64 and a uint64 decode to the same number), so this reads
 * the bytes: the values array of the frame, of arrays of [userKey, userValue] pairs.
 */
function checkUserKeys(payload: Buffer, valuesAt: number, fail: (offset: number, message: string) => never): void {
  const values = readArrayHeader(payload, valuesAt);
  let position = values.next;
  for (let v = 0; v < values.count; v++) {
    const pairs = readArrayHeader(payload, position);
    position = pairs.next;
    const seen = new Set<string>();
    for (let p = 0; p < pairs.count; p++) {
      const keyAt = readArrayHeader(payload, position).next; // a pair: checked by valueProblem
      const keyEnd = scanValue(payload, keyAt);
      const bytes = payload.subarray(keyAt, keyEnd);
      try {
        decodeCanonicalKey(bytes);
      } catch (err) {
        if (!(err instanceof InvalidKeyError)) throw err;
        fail(keyAt, `map state user key: ${err.message}`);
      }
      const id = bytes.toString('latin1');
      if (seen.has(id)) fail(keyAt, 'map state user key appears twice in one value');
      seen.add(id);
      position = scanValue(payload, keyEnd);
    }
  }
}

function valueProblem(kind: KeyedStateKind, value: unknown): string | undefined {
  if (kind === 'list' && !Array.isArray(value)) return 'list state value is not an array';
  if (kind === 'map' && !(Array.isArray(value) && value.every((p) => Array.isArray(p) && p.length === 2))) {
    return 'map state value is not an array of [key, value] pairs';
  }
  if (kind === 'timers' && !(Array.isArray(value) && value.every((t) => Array.isArray(t) && t.length === 2 && (t[0] === 0 || t[0] === 1) && typeof t[1] === 'number'))) {
    return 'timers value is not an array of [domain, timestamp] pairs';
  }
  return undefined;
}

function toProblem(err: unknown, where: string): VerifyProblem {
  if (err instanceof FormatError) return { file: err.file, ...(err.offset === undefined ? {} : { offset: err.offset }), message: err.problem };
  return { file: where, message: err instanceof Error ? err.message : String(err) };
}
