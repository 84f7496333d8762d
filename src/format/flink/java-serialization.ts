/**
 * Just enough of Java's object serialization stream (java.io.ObjectInputStream's grammar) to read
 * the CheckpointProperties that Flink writes at the end of `_metadata` from version 4 on: objects
 * of serializable classes with primitive and object fields, enums, strings, null and back
 * references. Anything else (custom writeObject data, arrays, externalizable classes) is refused
 * with its offset; the trailer never holds those.
 */
import type { JavaDataReader } from './byte-reader.ts';
import type { CheckpointProperties } from './model.ts';

const STREAM_MAGIC = 0xaced;
const STREAM_VERSION = 5;
const TC = { null: 0x70, reference: 0x71, classDesc: 0x72, object: 0x73, string: 0x74, endBlockData: 0x78, longString: 0x7c, enum: 0x7e } as const;
const BASE_HANDLE = 0x7e0000;
/** CheckpointProperties nests three objects deep; far deeper is damage, refused before the stack runs out. */
const MAX_DEPTH = 32;
const SC_WRITE_METHOD = 0x01;
const SC_SERIALIZABLE = 0x02;

interface FieldDesc {
  readonly type: string;
  readonly name: string;
}

interface ClassDesc {
  readonly name: string;
  readonly flags: number;
  readonly fields: readonly FieldDesc[];
  readonly superClass: ClassDesc | null;
}

export interface JavaObject {
  readonly className: string;
  /** Field name -> value, superclass fields included. */
  readonly fields: ReadonlyMap<string, JavaValue>;
}

export interface JavaEnum {
  readonly enumClass: string;
  readonly constant: string;
}

export type JavaValue = null | string | number | boolean | JavaObject | JavaEnum | ClassDesc;

/** Reads one serialized object that must run to the end of the input. */
export function readJavaObjectStream(r: JavaDataReader): JavaValue {
  const start = r.offset;
  const magic = r.u16('the Java serialization magic');
  if (magic !== STREAM_MAGIC) r.fail(`expected Java serialization magic 0xaced, found 0x${magic.toString(16)}`, start);
  const version = r.u16('the Java serialization version');
  if (version !== STREAM_VERSION) r.fail(`unsupported Java serialization stream version ${version}`, start + 2, 'unsupported');
  const handles: JavaValue[] = [];
  const value = readContent(r, handles, 0);
  if (r.remaining !== 0) r.fail(`${r.remaining} unexpected byte(s) after the checkpoint properties`);
  return value;
}

function readContent(r: JavaDataReader, handles: JavaValue[], depth: number): JavaValue {
  const at = r.offset;
  if (depth > MAX_DEPTH) r.fail(`Java objects nested more than ${MAX_DEPTH} deep`);
  const tc = r.u8('a Java serialization type code');
  switch (tc) {
    case TC.null:
      return null;
    case TC.reference: {
      const handle = r.i32('a Java back reference') - BASE_HANDLE;
      const target = handles[handle];
      if (target === undefined) r.fail(`Java back reference to unknown handle ${handle}`, at);
      return target;
    }
    case TC.string:
    case TC.longString: {
      const s = tc === TC.string ? r.utf('a Java string') : longString(r);
      handles.push(s);
      return s;
    }
    case TC.classDesc:
      return readClassDescBody(r, handles, depth);
    case TC.enum: {
      const desc = expectClassDesc(r, handles, depth);
      const slot = handles.push(null) - 1;
      const constant = readContent(r, handles, depth + 1);
      if (typeof constant !== 'string') r.fail('a Java enum constant name is not a string', at);
      const value: JavaEnum = { enumClass: desc.name, constant };
      handles[slot] = value;
      return value;
    }
    case TC.object: {
      const desc = expectClassDesc(r, handles, depth);
      const slot = handles.push(null) - 1;
      const chain: ClassDesc[] = [];
      for (let d: ClassDesc | null = desc; d !== null; d = d.superClass) chain.unshift(d);
      const fields = new Map<string, JavaValue>();
      for (const d of chain) {
        if ((d.flags & SC_SERIALIZABLE) === 0 || (d.flags & SC_WRITE_METHOD) !== 0) {
          r.fail(`class ${d.name} is written with flags 0x${d.flags.toString(16)}, which this reader does not decode`, at, 'unsupported');
        }
        for (const f of d.fields) fields.set(f.name, readField(r, handles, f, depth));
      }
      const value: JavaObject = { className: desc.name, fields };
      handles[slot] = value;
      return value;
    }
    default:
      return r.fail(`Java serialization type code 0x${tc.toString(16)} is not supported here`, at, 'unsupported');
  }
}

function longString(r: JavaDataReader): string {
  const high = r.i32('a long string length');
  if (high !== 0) r.fail('a Java long string over 4 GiB');
  const n = r.i32('a long string length');
  return new TextDecoder().decode(r.take(n, 'a Java long string'));
}

function expectClassDesc(r: JavaDataReader, handles: JavaValue[], depth: number): ClassDesc {
  const at = r.offset;
  const desc = readContent(r, handles, depth + 1);
  if (desc === null || typeof desc !== 'object' || !('flags' in desc)) r.fail('expected a Java class descriptor', at);
  return desc;
}

function readClassDescBody(r: JavaDataReader, handles: JavaValue[], depth: number): ClassDesc {
  const name = r.utf('a Java class name');
  r.take(8, 'a serialVersionUID');
  const slot = handles.push(null) - 1;
  const flags = r.u8('Java class flags');
  const fields: FieldDesc[] = [];
  for (let n = r.u16('a Java field count'); n > 0; n--) {
    const typeAt = r.offset;
    const type = String.fromCharCode(r.u8('a Java field type'));
    const fieldName = r.utf('a Java field name');
    if (type === 'L' || type === '[') {
      const className = readContent(r, handles, depth + 1);
      if (typeof className !== 'string') r.fail('a Java field type name is not a string', typeAt);
    } else if (!'BCDFIJSZ'.includes(type)) {
      r.fail(`unknown Java field type '${type}'`, typeAt);
    }
    fields.push({ type, name: fieldName });
  }
  const annotationAt = r.offset;
  if (r.u8('the end of a class annotation') !== TC.endBlockData) r.fail('Java class annotations are not supported here', annotationAt, 'unsupported');
  const superAt = r.offset;
  const superClass = readContent(r, handles, depth + 1);
  if (superClass !== null && (typeof superClass !== 'object' || !('flags' in superClass))) r.fail('expected a Java superclass descriptor', superAt);
  const desc: ClassDesc = { name, flags, fields, superClass };
  handles[slot] = desc;
  return desc;
}

function readField(r: JavaDataReader, handles: JavaValue[], f: FieldDesc, depth: number): JavaValue {
  switch (f.type) {
    case 'Z':
      return r.u8(`field ${f.name}`) !== 0;
    case 'B':
      return r.i8(`field ${f.name}`);
    case 'C':
    case 'S':
      return r.u16(`field ${f.name}`);
    case 'I':
      return r.i32(`field ${f.name}`);
    case 'F':
    case 'D':
    case 'J': {
      const bytes = r.take(f.type === 'F' ? 4 : 8, `field ${f.name}`);
      const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
      return f.type === 'F' ? view.getFloat32(0) : f.type === 'D' ? view.getFloat64(0) : Number(view.getBigInt64(0));
    }
    default:
      return readContent(r, handles, depth + 1);
  }
}

const SAVEPOINT_TYPE = 'org.apache.flink.runtime.checkpoint.SavepointType';
const CHECKPOINT_TYPE = 'org.apache.flink.runtime.checkpoint.CheckpointType';
const PROPERTIES = 'org.apache.flink.runtime.checkpoint.CheckpointProperties';

/** CheckpointProperties (or null) out of the trailer of a version 4+ `_metadata`. */
export function readCheckpointProperties(r: JavaDataReader): CheckpointProperties | null {
  const at = r.offset;
  const value = readJavaObjectStream(r);
  if (value === null) return null;
  if (typeof value !== 'object' || !('className' in value) || value.className !== PROPERTIES) {
    return r.fail(`the trailer is not ${PROPERTIES}`, at);
  }
  const bool = (name: string): boolean => value.fields.get(name) === true;
  const type = value.fields.get('checkpointType');
  if (type === null || type === undefined || typeof type !== 'object' || !('className' in type)) return r.fail('checkpoint properties without a checkpoint type', at);
  const text = (name: string): string | undefined => {
    const v = type.fields.get(name);
    if (typeof v === 'string') return v;
    if (v !== null && typeof v === 'object' && 'constant' in v) return v.constant;
    return undefined;
  };
  let kind: CheckpointProperties['kind'];
  if (type.className === SAVEPOINT_TYPE) kind = 'savepoint';
  else if (type.className === CHECKPOINT_TYPE) kind = 'checkpoint';
  else return r.fail(`unknown snapshot type ${type.className} in the checkpoint properties`, at, 'unsupported');
  const formatType = text('formatType');
  const postCheckpointAction = text('postCheckpointAction');
  const sharingFilesStrategy = text('sharingFilesStrategy');
  return {
    kind,
    name: text('name') ?? (kind === 'savepoint' ? 'Savepoint' : 'Checkpoint'),
    ...(formatType === undefined ? {} : { formatType }),
    ...(postCheckpointAction === undefined ? {} : { postCheckpointAction }),
    ...(sharingFilesStrategy === undefined ? {} : { sharingFilesStrategy }),
    forced: bool('forced'),
    unclaimed: bool('unclaimed'),
    discard: {
      cancelled: bool('discardCancelled'),
      failed: bool('discardFailed'),
      finished: bool('discardFinished'),
      subsumed: bool('discardSubsumed'),
      suspended: bool('discardSuspended'),
    },
  };
}
