/**
 * Reads an Apache Flink `_metadata` (Checkpoints.loadCheckpointMetadata without a JVM): the
 * magic and version, then the body of MetadataV2V3SerializerBase as versions 2 to 6 lay it out,
 * then, from version 4, the CheckpointProperties trailer. The whole file must be consumed.
 */
import { FormatError } from '../../errors.ts';
import { JavaDataReader } from './byte-reader.ts';
import { readChannelHandle, readKeyedHandle, readOperatorHandle, readStreamHandle } from './handles.ts';
import { readCheckpointProperties } from './java-serialization.ts';
import {
  type ChannelHandle,
  FLINK_METADATA_MAGIC,
  type FlinkOperatorState,
  type FlinkSnapshotMetadata,
  type MasterState,
  type StreamHandle,
  type SubtaskState,
} from './model.ts';

const MASTER_STATE_MAGIC = 0xc96b1696 | 0;

/** Flink's MetadataV1Serializer says exactly this, and reads nothing. */
export const VERSION_1_MESSAGE = 'This savepoint / checkpoint version (Flink 1.1 / 1.2) is no longer supported.';

/**
 * Versions 2 to 6 are those of released Flink (1.3 to 2.1); 7 (MetadataV7Serializer: regional
 * checkpoints add a reference checkpoint id to each subtask) is read from Flink's source alone.
 */
export const READABLE_FLINK_VERSIONS: readonly number[] = [2, 3, 4, 5, 6, 7];

/** Whether `bytes` starts with Flink's `_metadata` magic (and so is no tsflink file). */
export function isFlinkMetadata(bytes: Uint8Array): boolean {
  return bytes.length >= 4 && new DataView(bytes.buffer, bytes.byteOffset, 4).getInt32(0) === FLINK_METADATA_MAGIC;
}

export function readFlinkMetadata(bytes: Uint8Array, file: string): FlinkSnapshotMetadata {
  const r = new JavaDataReader(bytes, file);
  const magic = r.i32('the magic number');
  if (magic !== FLINK_METADATA_MAGIC) r.fail(`not an Apache Flink _metadata file (magic 0x${(magic >>> 0).toString(16)}, expected 0x4960672d)`, 0);
  const version = r.i32('the metadata version');
  if (version === 1) throw new FormatError(file, 4, `metadata version 1: ${VERSION_1_MESSAGE}`, 'unsupported');
  if (!READABLE_FLINK_VERSIONS.includes(version)) {
    throw new FormatError(file, 4, `Unrecognized checkpoint version number: ${version} (this reader reads Flink metadata versions ${READABLE_FLINK_VERSIONS[0]} to ${READABLE_FLINK_VERSIONS.at(-1)})`, 'unsupported');
  }

  const idAt = r.offset;
  const checkpointId = r.i64('the checkpoint id');
  if (checkpointId < 0) r.fail(`invalid checkpoint ID: ${checkpointId}`, idAt);
  const masterStates: MasterState[] = [];
  for (let n = r.count('number of master states'); n > 0; n--) masterStates.push(readMasterState(r));
  const operators: FlinkOperatorState[] = [];
  for (let n = r.count('number of operator states'); n > 0; n--) operators.push(readOperator(r, version));

  const properties = version >= 4 ? readCheckpointProperties(r) : undefined;
  if (r.remaining !== 0) r.fail(`${r.remaining} unexpected byte(s) after the last operator`);
  return { version, checkpointId, masterStates, operators, ...(properties === undefined ? {} : { properties }), metadataBytes: bytes.length };
}

function readMasterState(r: JavaDataReader): MasterState {
  const at = r.offset;
  if (r.i32('a master state magic') !== MASTER_STATE_MAGIC) r.fail('incorrect magic number in master state', at);
  const lengthAt = r.offset;
  const length = r.i32('the length of a master state');
  if (length <= 0) r.fail(`found zero or negative length for master state bytes (${length})`, lengthAt);
  const block = new JavaDataReader(r.take(length, 'a master state'), r.file);
  const base = r.offset - length;
  try {
    const version = block.i32('the master state version');
    const name = block.utf('the master state name');
    const size = block.count('master state payload length');
    block.take(size, 'the master state payload');
    if (block.remaining !== 0) block.fail('found trailing bytes in master state');
    return { name, version, size };
  } catch (err) {
    // Offsets inside the block are relative to it: report them in the file.
    if (err instanceof FormatError && err.offset !== undefined) throw new FormatError(r.file, base + err.offset, err.problem, err.kind);
    throw err;
  }
}

function hex16(r: JavaDataReader): string {
  return Buffer.from(r.take(16, 'an operator id')).toString('hex');
}

function readOperator(r: JavaDataReader, version: number): FlinkOperatorState {
  const at = r.offset;
  const name = version >= 5 ? r.utf('an operator name') : '';
  const uid = version >= 5 ? r.utf('an operator uid') : '';
  const id = hex16(r);
  const parallelism = r.i32(`the parallelism of operator ${id}`);
  const maxParallelism = r.i32(`the max parallelism of operator ${id}`);
  const named = { ...(name === '' ? {} : { name }), ...(uid === '' ? {} : { uid }) };

  if (version === 2) {
    r.i32('the chain length'); // always 1 since Flink 1.3, ignored as Flink does
    const subtasks: SubtaskState[] = [];
    for (let n = r.count(`number of subtask states of operator ${id}`); n > 0; n--) {
      const index = r.i32('a subtask index');
      subtasks.push(readSubtask(r, version, index));
    }
    return { at, id, ...named, parallelism, maxParallelism, coordinatorState: null, fullyFinished: false, subtasks };
  }

  const coordinatorAt = r.offset;
  const coordinatorState = readStreamHandle(r);
  if (coordinatorState !== null && coordinatorState.kind !== 'inline') {
    r.fail(`Expected a ByteStreamStateHandle as coordinator state of operator ${id} but found a ${coordinatorState.kind} handle (tag ${coordinatorState.tag})`, coordinatorAt);
  }
  const countAt = r.offset;
  const count = r.i32(`number of subtask states of operator ${id}`);
  if (count < 0) {
    if (coordinatorState !== null) r.fail(`Coordinator State should be null for fully finished operator state (operator ${id})`, countAt);
    return { at, id, ...named, parallelism, maxParallelism, coordinatorState, fullyFinished: true, subtasks: [] };
  }
  const subtasks: SubtaskState[] = [];
  for (let n = count; n > 0; n--) {
    const stored = r.i32('a subtask index');
    if (stored < 0) subtasks.push(finishedSubtask(-stored - 1));
    else subtasks.push(readSubtask(r, version, stored));
  }
  return { at, id, ...named, parallelism, maxParallelism, coordinatorState, fullyFinished: false, subtasks };
}

function finishedSubtask(index: number): SubtaskState {
  return { index, finished: true, legacy: [], managedOperatorState: null, rawOperatorState: null, managedKeyedState: null, rawKeyedState: null, inputChannels: [], resultSubpartitions: [] };
}

function readSubtask(r: JavaDataReader, version: number, index: number): SubtaskState {
  const legacy: (StreamHandle | null)[] = [];
  if (version === 2) {
    r.i64('the subtask duration'); // written as -1, unused
    for (let n = r.count('number of legacy states'); n > 0; n--) legacy.push(readStreamHandle(r));
  }
  const managedOperatorState = r.i32('the managed operator state flag') !== 0 ? readOperatorHandle(r) : null;
  const rawOperatorState = r.i32('the raw operator state flag') !== 0 ? readOperatorHandle(r) : null;
  const managedKeyedState = readKeyedHandle(r);
  const rawKeyedState = readKeyedHandle(r);
  const inputChannels: ChannelHandle[] = [];
  const resultSubpartitions: ChannelHandle[] = [];
  if (version >= 3) {
    const tagged = version >= 6;
    for (let n = r.count('number of input channel state handles'); n > 0; n--) inputChannels.push(readChannelHandle(r, true, tagged));
    for (let n = r.count('number of result subpartition state handles'); n > 0; n--) resultSubpartitions.push(readChannelHandle(r, false, tagged));
  }
  const subtask = { index, finished: false, legacy, managedOperatorState, rawOperatorState, managedKeyedState, rawKeyedState, inputChannels, resultSubpartitions };
  if (version < 7) return subtask;
  const markerAt = r.offset;
  const marker = r.i8('the reference checkpoint marker');
  if (marker === 0) return subtask;
  if (marker !== 1) r.fail(`reference checkpoint marker ${marker}, expected 0 or 1`, markerAt);
  return { ...subtask, refCheckpointId: r.i64('a reference checkpoint id') };
}
