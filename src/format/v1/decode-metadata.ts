/**
 * The frozen reader of `_metadata` format version 1 (docs/FORMAT.md section 3). Every check here
 * turns a surprise into a FormatError naming the file, the offset of the section and the field;
 * it never lets a malformed file through as metadata. Do not change what it accepts: files of
 * version 1 exist and must read the same forever.
 */
import { Unpackr } from 'msgpackr';
import { FormatError } from '../../errors.ts';
import { crc32 } from '../crc32.ts';
import { checkUint, type Fail, Fields, isPlainMap } from '../fields.ts';
import { DATA_HEADER_SIZE, KNOWN_REQUIRED_FEATURES, METADATA_HEADER_SIZE, SECTION_TAGS } from '../layout.ts';
import {
  type BlockRef,
  DISTRIBUTION_MODES,
  type DataFileMeta,
  KEYED_STATE_KINDS,
  type KeyGroupBlock,
  type KeyedBlockKind,
  type KeyedStateMeta,
  OPERATOR_STATE_KINDS,
  type OperatorMeta,
  type OperatorStateMeta,
  type SnapshotMetadata,
  TTL_UPDATE_TYPES,
  TTL_VISIBILITIES,
} from '../model.ts';
import { relativePathProblem } from '../snapshot-paths.ts';
import { checkBlockTiling } from '../tiling.ts';

// msgpackr's typings lag its options: 'auto' (numbers within 2^53, else bigint) exists at run time.
const unpackr = new Unpackr({ useRecords: false, mapsAsObjects: true, int64AsType: 'auto' as 'number' });
const ORDER = [SECTION_TAGS.snapshot, SECTION_TAGS.files, SECTION_TAGS.operators, SECTION_TAGS.keyGroupIndex, SECTION_TAGS.end];

export function decodeMetadataV1(bytes: Uint8Array, file: string): SnapshotMetadata {
  return decodeMetadataSections(bytes, file, 1);
}

/**
 * The reader of versions 1 and 2, which share every byte of `_metadata` but two things
 * (FORMAT.md, Version history): in version 2 a keyed state whose `ttl` is a map has its values in
 * the TTL layout (5.4), and `stateBackend` of an operator, optional in both, must be a str when
 * present (version 1 readers ignore a malformed one, as they ignored the key before it existed).
 * Version 1 goes through exactly the checks it always had.
 */
export function decodeMetadataSections(bytes: Uint8Array, file: string, version: 1 | 2, later?: LaterVersion): SnapshotMetadata {
  return decodeSections(bytes, file, later?.version ?? version, later);
}

/**
 * What a later version (3, incremental checkpoints) changes in the reader of version 2, which it
 * otherwise is: its feature bits, its FILE keys, the width and order rules of KGIX and the layout
 * rule that replaces tiling. Versions 1 and 2 pass none and read as they always did.
 */
export interface LaterVersion {
  readonly version: 3;
  readonly knownRequiredFeatures: number;
  decodeFile(f: Fields, base: DataFileMeta): DataFileMeta;
  /** Uints per block in KGIX (6 before version 3). */
  readonly blockWidth: number;
  decodeBlockKind(value: unknown, path: string, fail: Fail): KeyedBlockKind;
  /** Replaces "key groups strictly increasing": the chain rules. */
  checkChain(blocks: readonly KeyGroupBlock[], path: string, fail: Fail): void;
  /** Replaces checkBlockTiling; `requiredFeatures` is the header's field. */
  checkLayout(files: readonly DataFileMeta[], operators: readonly OperatorMeta[], indexOffset: number, metadataFile: string, requiredFeatures: number): void;
}

function decodeSections(bytes: Uint8Array, file: string, version: 1 | 2 | 3, later: LaterVersion | undefined): SnapshotMetadata {
  const view = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const corrupt = (offset: number | undefined, problem: string): never => {
    throw new FormatError(file, offset, problem);
  };
  if (view.length < METADATA_HEADER_SIZE) corrupt(view.length, 'truncated header');
  if (view.readUInt32BE(20) !== crc32(view.subarray(0, 20))) corrupt(0, 'header checksum mismatch');
  if (view.readUInt16BE(10) !== 0) corrupt(10, 'header flags must be 0');
  const unknownRequired = view.readUInt32BE(12) & ~(later?.knownRequiredFeatures ?? KNOWN_REQUIRED_FEATURES);
  if (unknownRequired !== 0) {
    throw new FormatError(file, 12, `unknown required features 0x${(unknownRequired >>> 0).toString(16).padStart(8, '0')}: written by a newer tsflink; upgrade to read it`, 'unsupported');
  }

  const payloads = new Map<string, { payload: Buffer; offset: number }>();
  let offset = METADATA_HEADER_SIZE;
  let expected = 0;
  for (;;) {
    if (offset === view.length) corrupt(offset, `truncated: section '${ORDER[expected]}' is missing`);
    if (view.length - offset < 12) corrupt(offset, 'truncated section header');
    const tag = view.toString('latin1', offset, offset + 4);
    const length = view.readUInt32BE(offset + 4);
    if (length > view.length - offset - 12) corrupt(offset, `section '${printable(tag)}' is truncated`);
    const end = offset + 8 + length;
    if (view.readUInt32BE(end) !== crc32(view.subarray(offset, end))) corrupt(offset, `section '${printable(tag)}' checksum mismatch`);
    if (/^[a-z]/.test(tag)) {
      offset = end + 4; // ancillary: skip what we do not know
      continue;
    }
    if (tag !== ORDER[expected]) {
      if ((ORDER as string[]).includes(tag)) corrupt(offset, `section '${tag}' out of order (expected '${ORDER[expected]}')`);
      throw new FormatError(file, offset, `unknown critical section '${printable(tag)}': written by a newer tsflink; upgrade to read it`, 'unsupported');
    }
    payloads.set(tag, { payload: view.subarray(offset + 8, end), offset });
    offset = end + 4;
    expected += 1;
    if (tag === SECTION_TAGS.end) break;
  }
  if (offset !== view.length) corrupt(offset, `${view.length - offset} unexpected bytes after the end section`);

  const section = (tag: string): { value: unknown; fail: Fail } => {
    const { payload, offset: at } = payloads.get(tag)!; // present: the loop above required every tag in order
    const fail: Fail = (problem) => corrupt(at, `section '${tag}': ${problem}`);
    let values: unknown[];
    try {
      values = unpackr.unpackMultiple(payload) as unknown[];
    } catch (err) {
      return fail(`not valid MessagePack (${err instanceof Error ? err.message : String(err)})`);
    }
    if (values.length !== 1) fail('expected exactly one MessagePack value');
    return { value: values[0], fail };
  };

  const snapSection = section(SECTION_TAGS.snapshot);
  const snap = new Fields(snapSection.value, 'snapshot', snapSection.fail);
  const jobId = snap.str('jobId');
  if (!/^[0-9a-f]{32}$/.test(jobId)) snapSection.fail('snapshot.jobId: expected 32 lowercase hex digits');
  const stats = snap.map('stats');
  const durations = stats.raw('durations');
  if (!isPlainMap(durations) || !Object.values(durations).every((d) => typeof d === 'number' && d >= 0)) {
    snapSection.fail('snapshot.stats.durations: expected a map of phase names to milliseconds');
  }

  const files = decodeFiles(section(SECTION_TAGS.files), later);
  const operators = decodeOperators(section(SECTION_TAGS.operators), files.length, version);
  const withIndex = attachIndex(section(SECTION_TAGS.keyGroupIndex), operators, files.length, later);
  const indexOffset = payloads.get(SECTION_TAGS.keyGroupIndex)!.offset;
  if (later === undefined) checkBlockTiling(files, withIndex, DATA_HEADER_SIZE, indexOffset, file);
  else later.checkLayout(files, withIndex, indexOffset, file, view.readUInt32BE(12));

  return {
    formatVersion: version,
    kind: snap.oneOf('kind', ['savepoint', 'checkpoint']),
    type: snap.oneOf('type', ['canonical', 'native']),
    jobId,
    jobName: snap.str('jobName'),
    checkpointId: snap.uint('checkpointId'),
    createdAt: snap.uint('createdAt'),
    engine: snap.str('engine'),
    stats: { bytes: stats.uint('bytes'), entries: stats.uint('entries'), durations: { ...(durations as Record<string, number>) } },
    files,
    operators: withIndex,
  };
}

function decodeFiles({ value, fail }: { value: unknown; fail: Fail }, later: LaterVersion | undefined): DataFileMeta[] {
  if (!Array.isArray(value)) return fail('expected an array of files');
  const seen = new Set<string>();
  return value.map((item, i) => {
    const f = new Fields(item, `files[${i}]`, fail);
    const path = f.str('path');
    const problem = relativePathProblem(path);
    if (problem !== undefined) fail(`files[${i}].path: ${problem}`);
    if (seen.has(path)) fail(`files[${i}].path: '${path}' listed twice`);
    seen.add(path);
    const base = { path, size: f.uint('size') };
    return later === undefined ? base : later.decodeFile(f, base);
  });
}

type OperatorWithoutBlocks = Omit<OperatorMeta, 'keyedStates'> & { keyedStates: Omit<KeyedStateMeta, 'blocks'>[] };

function decodeOperators({ value, fail }: { value: unknown; fail: Fail }, fileCount: number, version: 1 | 2 | 3): OperatorWithoutBlocks[] {
  if (!Array.isArray(value)) return fail('expected an array of operators');
  const uids = new Set<string>();
  const ids = new Set<string>();
  return value.map((item, i) => {
    const path = `operators[${i}]`;
    const f = new Fields(item, path, fail);
    const uid = f.str('uid');
    const id = f.bytes('id', 16);
    const idHex = Buffer.from(id).toString('hex');
    if (uids.has(uid)) fail(`${path}.uid: '${uid}' appears twice`);
    if (ids.has(idHex)) fail(`${path}.id: ${idHex} appears twice`);
    uids.add(uid);
    ids.add(idHex);
    const parallelism = f.uint('parallelism');
    const maxParallelism = f.uint('maxParallelism');
    if (parallelism < 1 || parallelism > maxParallelism || maxParallelism > 32768) {
      fail(`${path}: parallelism ${parallelism} and max parallelism ${maxParallelism} must satisfy 1 <= p <= maxP <= 32768`);
    }
    const keyedNames = new Set<string>();
    const keyedStates = f.array('keyedStates').map((s, j) => {
      const sf = new Fields(s, `${path}.keyedStates[${j}]`, fail);
      const name = uniqueName(sf, keyedNames, fail);
      const kind = sf.oneOf('kind', KEYED_STATE_KINDS);
      const schemaVersion = sf.uint('schemaVersion');
      const ttl = sf.has('ttl') ? decodeTtl(sf.map('ttl')) : null;
      if (version >= 2 && ttl !== null && kind === 'timers') fail(`${path}.keyedStates[${j}]: timers state cannot be under TTL`);
      return {
        name,
        kind,
        schemaVersion,
        ttl,
        ...(version >= 2 && ttl !== null ? { ttlLayout: true } : {}),
        entries: sf.uint('entries'),
        bytes: sf.uint('bytes'),
      };
    });
    const backend = isPlainMap(item) ? (item as Record<string, unknown>)['stateBackend'] : undefined;
    if (version >= 2 && backend !== undefined && typeof backend !== 'string') fail(`${path}.stateBackend: expected a str`);
    const stateBackend = typeof backend === 'string' ? { stateBackend: backend } : {};
    const operatorNames = new Set<string>();
    const operatorStates = f.array('operatorStates').map((s, j): OperatorStateMeta => {
      const sp = `${path}.operatorStates[${j}]`;
      const sf = new Fields(s, sp, fail);
      const name = uniqueName(sf, operatorNames, fail);
      const kind = sf.oneOf('kind', OPERATOR_STATE_KINDS);
      const mode = sf.oneOf('mode', DISTRIBUTION_MODES);
      if ((kind === 'broadcast') !== (mode === 'broadcast')) fail(`${sp}: kind '${kind}' cannot have mode '${mode}'`);
      const partitions = sf.array('partitions').map((p, k) =>
        p === null ? null : decodeBlockRef(p, `${sp}.partitions[${k}]`, fileCount, fail),
      );
      if (partitions.length !== parallelism) fail(`${sp}.partitions: ${partitions.length} partitions for parallelism ${parallelism}`);
      const meta = { name, kind, mode, schemaVersion: sf.uint('schemaVersion'), partitions, entries: sf.uint('entries'), bytes: sf.uint('bytes') };
      checkTotals(meta, partitions.filter((b) => b !== null), sp, fail);
      return meta;
    });
    return { uid, id, name: f.str('name'), parallelism, maxParallelism, ...stateBackend, keyedStates, operatorStates };
  });
}

function attachIndex({ value, fail }: { value: unknown; fail: Fail }, operators: OperatorWithoutBlocks[], fileCount: number, later: LaterVersion | undefined): OperatorMeta[] {
  const width = later?.blockWidth ?? 6;
  if (!Array.isArray(value) || value.length !== operators.length) return fail(`expected an array of ${operators.length} operators`);
  return operators.map((op, i) => {
    const states: unknown = value[i];
    if (!Array.isArray(states) || states.length !== op.keyedStates.length) {
      return fail(`index[${i}]: expected ${op.keyedStates.length} keyed states for operator '${op.uid}'`);
    }
    const keyedStates = op.keyedStates.map((state, j): KeyedStateMeta => {
      const path = `index[${i}][${j}]`;
      const flat: unknown = states[j];
      if (later !== undefined) {
        if (!Array.isArray(flat) || flat.length % width !== 0) return fail(`${path}: expected a flat array of ${width} numbers per block`);
      } else if (!Array.isArray(flat) || flat.length % 6 !== 0) return fail(`${path}: expected a flat array of 6 numbers per key group`);
      const blocks: KeyGroupBlock[] = [];
      for (let k = 0; k < flat.length; k += width) {
        const keyGroup = checkUint(flat[k], `${path}[${k}]`, fail);
        if (keyGroup >= op.maxParallelism) fail(`${path}: key group ${keyGroup} is not below max parallelism ${op.maxParallelism}`);
        const previous = blocks.at(-1);
        if (later === undefined && previous !== undefined && keyGroup <= previous.keyGroup) fail(`${path}: key groups not strictly increasing at ${keyGroup}`);
        const ref = decodeBlockRef(flat.slice(k + 1, k + 6), `${path}[${k}]`, fileCount, fail);
        if (later === undefined) blocks.push({ keyGroup, ...ref });
        else blocks.push({ keyGroup, ...ref, kind: later.decodeBlockKind(flat[k + 6], `${path}[${k + 6}]`, fail) });
      }
      later?.checkChain(blocks, path, fail);
      checkTotals(state, blocks, `operators[${i}].keyedStates[${j}] '${state.name}'`, fail);
      return { ...state, blocks };
    });
    return { ...op, keyedStates };
  });
}

function decodeBlockRef(value: unknown, path: string, fileCount: number, fail: Fail): BlockRef {
  if (!Array.isArray(value) || value.length !== 5) fail(`${path}: expected [file, offset, length, entries, crc]`);
  const [file, offset, length, entries, crc] = value.map((v, i) => checkUint(v, `${path}[${i}]`, fail)) as [number, number, number, number, number];
  if (file >= fileCount) fail(`${path}: file ${file} is not in the file table`);
  if (entries < 1 || length < 13) fail(`${path}: an empty block`);
  if (crc > 0xffffffff) fail(`${path}: checksum is not 32 bits`);
  return { file, offset, length, entries, crc };
}

function decodeTtl(f: Fields): NonNullable<KeyedStateMeta['ttl']> {
  return { ttlMs: f.uint('ttlMs'), update: f.oneOf('update', TTL_UPDATE_TYPES), visibility: f.oneOf('visibility', TTL_VISIBILITIES) };
}

function uniqueName(f: Fields, seen: Set<string>, fail: Fail): string {
  const name = f.str('name');
  if (seen.has(name)) fail(`${f.path}.name: '${name}' appears twice`);
  seen.add(name);
  return name;
}

function checkTotals(state: { entries: number; bytes: number }, blocks: readonly BlockRef[], path: string, fail: Fail): void {
  const entries = blocks.reduce((sum, b) => sum + b.entries, 0);
  const bytes = blocks.reduce((sum, b) => sum + b.length, 0);
  if (entries !== state.entries || bytes !== state.bytes) {
    fail(`${path}: totals (${state.entries} entries, ${state.bytes} bytes) do not match its blocks (${entries}, ${bytes})`);
  }
}

function printable(tag: string): string {
  return tag.replace(/[^\x20-\x7e]/g, '?');
}
