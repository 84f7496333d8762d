/**
 * The Flink `_metadata` reader against Apache Flink's own snapshots (1.2 to 2.0, in
 * ../shared/flink-savepoints) and against hand-made buffers for what those files do not hold:
 * unknown tags, truncation, finished operators, version 6 channel handles, null properties.
 */
import { readFileSync, readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { FormatError } from '../../errors.ts';
import { FLINK_SAVEPOINTS, SNAPSHOTS, flinkSnapshotDir } from '../../../test/support/flink-savepoints.ts';
import { operatorIdFromUid, toHex } from '../murmur3.ts';
import { checkRelativeFiles } from './file-refs.ts';
import type { FlinkSnapshotMetadata, KeyedHandle } from './model.ts';
import { VERSION_1_MESSAGE, isFlinkMetadata, readFlinkMetadata } from './read-metadata.ts';
import { allFileRefs, summarizeFlink } from './summary.ts';

const bytesOf = (name: string): Uint8Array => readFileSync(join(flinkSnapshotDir(name), '_metadata'));
const read = (name: string): FlinkSnapshotMetadata => readFlinkMetadata(bytesOf(name), `${name}/_metadata`);
const idOf = (uid: string): string => toHex(operatorIdFromUid(uid));
const op = (m: FlinkSnapshotMetadata, uid: string) => {
  const found = m.operators.find((o) => o.id === idOf(uid));
  if (found === undefined) throw new Error(`no operator ${uid}`);
  return found;
};
const keyed = (m: FlinkSnapshotMetadata, uid: string): KeyedHandle[] => op(m, uid).subtasks.flatMap((s) => (s.managedKeyedState === null ? [] : [s.managedKeyedState]));

/** What Java's DataOutputStream writes, for hand-made files. */
class JavaOut {
  readonly parts: number[] = [];
  u8(...v: number[]): this {
    this.parts.push(...v);
    return this;
  }
  i32(v: number): this {
    const b = Buffer.alloc(4);
    b.writeInt32BE(v);
    return this.u8(...b);
  }
  i64(v: number): this {
    const b = Buffer.alloc(8);
    b.writeBigInt64BE(BigInt(v));
    return this.u8(...b);
  }
  utf(s: string): this {
    const b = Buffer.from(s, 'utf8');
    return this.u8(b.length >> 8, b.length & 0xff, ...b);
  }
  bytes(): Uint8Array {
    return Uint8Array.from(this.parts);
  }
}

/** Header, checkpoint id 7, no master states, one operator (id 00..01, p=1, maxP=1). */
function operatorStart(version: number): JavaOut {
  const out = new JavaOut().i32(0x4960672d).i32(version).i64(7).i32(0).i32(1);
  if (version >= 5) out.utf('Map').utf('my-map');
  out.u8(...new Array<number>(15).fill(0), 1).i32(1).i32(1);
  if (version === 2) out.i32(1);
  return out;
}

describe('real Flink snapshots', () => {
  it('are there, beside the checkout', () => {
    expect(statSync(FLINK_SAVEPOINTS, { throwIfNoEntry: false })?.isDirectory(), `${FLINK_SAVEPOINTS} is missing`).toBe(true);
    expect(readdirSync(FLINK_SAVEPOINTS).filter((d) => d.startsWith('flink'))).toHaveLength(8);
  });

  it.each([
    [SNAPSHOTS.heap13, 2, 10, 7, undefined],
    [SNAPSHOTS.memory15, 2, 20, 8, undefined],
    [SNAPSHOTS.rocks111, 3, 4, 8, undefined],
    [SNAPSHOTS.hashmap115, 3, 1, 8, undefined],
    [SNAPSHOTS.rocks116, 4, 1, 8, 'savepoint NATIVE'],
    [SNAPSHOTS.hashmap120, 4, 1, 8, 'savepoint CANONICAL'],
    [SNAPSHOTS.rocks20, 5, 2, 8, 'checkpoint FORWARD_BACKWARD'],
  ])('%s: version %i, checkpoint %i, %i operators, properties %s', (name, version, checkpointId, operators, properties) => {
    const m = read(name);
    expect(isFlinkMetadata(bytesOf(name))).toBe(true);
    expect([m.version, m.checkpointId, m.operators.length, m.masterStates.length]).toEqual([version, checkpointId, operators, 0]);
    const p = m.properties;
    expect(p === undefined ? undefined : `${p?.kind} ${p?.formatType ?? p?.sharingFilesStrategy}`).toBe(properties);
    for (const o of m.operators) {
      for (const st of o.subtasks) {
        for (const h of [st.managedKeyedState, st.rawKeyedState]) {
          if (h === null) continue;
          // maxP = p = 4 in every job here: subtask i owns exactly key group i (KeyGroupRangeAssignment).
          expect(h.range).toEqual({ start: st.index, end: st.index });
          expect(o.maxParallelism).toBe(4);
        }
      }
    }
  });

  it('refuses version 1 with the message of Flink itself', () => {
    expect(() => read(SNAPSHOTS.v1)).toThrow(FormatError);
    expect(() => read(SNAPSHOTS.v1)).toThrow(`at offset 4: metadata version 1: ${VERSION_1_MESSAGE}`);
    expect(VERSION_1_MESSAGE).toBe('This savepoint / checkpoint version (Flink 1.1 / 1.2) is no longer supported.');
  });

  it('1.3: legacy Checkpointed state, timers in raw keyed state, a source of max parallelism 1', () => {
    const m = read(SNAPSHOTS.heap13);
    expect(m.operators.flatMap((o) => o.subtasks).filter((s) => s.legacy.length > 0)).toHaveLength(13);
    const source = op(m, 'LegacyCheckpointedSource');
    expect([source.parallelism, source.maxParallelism, source.subtasks[0]?.legacy[0]?.kind, source.subtasks[0]?.legacy[0]?.size]).toEqual([1, 1, 'inline', 24]);
    const withKeyed = keyed(m, 'LegacyCheckpointedFlatMapWithKeyedState');
    expect(withKeyed.map((h) => [h.kind, h.tag, h.range.start, h.size])).toEqual([
      ['key-groups', 3, 1, 2177],
      ['key-groups', 3, 2, 2194],
      ['key-groups', 3, 3, 2177],
    ]);
    expect(allFileRefs(m)).toEqual([]);
  });

  it('1.5: operator states with their names and distribution modes, all inline', () => {
    const m = read(SNAPSHOTS.memory15);
    const modes = (uid: string) => op(m, uid).subtasks.flatMap((s) => s.managedOperatorState?.states.map((x) => `${x.name}:${x.mode}`) ?? []);
    expect(modes('CheckpointingSource1')).toEqual(['source-state:SPLIT_DISTRIBUTE']);
    expect(modes('CheckpointingSource2')).toEqual(['source-state:UNION']);
    expect(new Set(modes('BrProcess1'))).toEqual(new Set(['broadcast-state-1:BROADCAST', 'broadcast-state-2:BROADCAST']));
    expect(new Set(modes('BrProcess2'))).toEqual(new Set(['broadcast-state-3:BROADCAST']));
    expect(op(m, 'BrProcess1').subtasks.map((s) => s.managedOperatorState?.size)).toEqual([1708, 1708, 1708, 1708]);
    expect(allFileRefs(m)).toEqual([]);
  });

  it('1.11 and 1.15: the same job, inline key groups (tag 3) then files with state handle ids (tag 12)', () => {
    const a = read(SNAPSHOTS.rocks111);
    const b = read(SNAPSHOTS.hashmap115);
    expect(a.operators.map((o) => o.id).sort()).toEqual(b.operators.map((o) => o.id).sort());
    expect(keyed(a, 'CheckpointingKeyedStateFlatMap1').map((h) => [h.tag, h.range.start, h.size])).toEqual([[3, 1, 535], [3, 2, 561], [3, 3, 535]]);
    const k = keyed(b, 'CheckpointingKeyedStateFlatMap1');
    expect(k.map((h) => [h.tag, h.range.start, h.size])).toEqual([[12, 1, 532], [12, 2, 549], [12, 3, 532]]);
    expect(k.every((h) => h.kind === 'key-groups' && h.delegate?.kind === 'relative' && typeof h.stateHandleId === 'string')).toBe(true);
    // "one subtask of a flat map has no state entry"
    expect(op(b, 'CheckpointingKeyedStateFlatMap1').subtasks.map((s) => s.index)).toEqual([1, 2, 3]);
  });

  it('1.16: RocksDB native savepoint, incremental handles (tag 11) of a meta file and private files', () => {
    const m = read(SNAPSHOTS.rocks116);
    for (const h of keyed(m, 'BrProcess1')) {
      if (h.kind !== 'incremental') throw new Error(`expected incremental, got ${h.kind}`);
      expect([h.tag, h.size, h.checkpointedSize, h.shared.length, h.metaState?.kind]).toEqual([11, 14728, 14728, 0, 'relative']);
      expect(h.private.map((f) => f.name).sort()).toEqual(expect.arrayContaining(['CURRENT']));
    }
  });

  it('2.0: version 5 stores uids and names, and every stored uid hashes to its operator id', () => {
    const m = read(SNAPSHOTS.rocks20);
    const named = m.operators.filter((o) => o.uid !== undefined);
    expect(named).toHaveLength(6);
    for (const o of named) expect(o.id).toBe(idOf(o.uid ?? ''));
    expect(op(m, 'CheckpointingSource1').name).toBe('Source: Custom Source');
    expect(m.operators.filter((o) => o.uid === undefined).map((o) => o.name)).toEqual(['Sink: Unnamed', 'Sink: Unnamed']);
    const [first] = keyed(m, 'CheckpointingKeyedStateFlatMap1');
    expect(first?.kind === 'incremental' ? [first.range, first.size, first.checkpointedSize, first.checkpointId] : first).toEqual([{ start: 1, end: 1 }, 13775, 13775, 2]);
  });

  it.each([
    [SNAPSHOTS.hashmap115, 16],
    [SNAPSHOTS.rocks116, 44],
    [SNAPSHOTS.hashmap120, 20],
    [SNAPSHOTS.rocks20, 82],
  ])('%s: the relative handles name exactly the %i files beside _metadata, each with its size on disk', async (name, count) => {
    const dir = flinkSnapshotDir(name);
    const refs = allFileRefs(read(name));
    const onDisk = readdirSync(dir).filter((f) => f !== '_metadata');
    expect(new Set(refs.map((f) => f.path))).toEqual(new Set(onDisk));
    expect(onDisk).toHaveLength(count);
    const status = await checkRelativeFiles(refs, async (p) => ({ size: statSync(join(dir, p)).size }));
    expect([...status.values()].every((s) => s === 'ok')).toBe(true);
    // Total state = the bytes of those files (each named once by these jobs).
    const total = summarizeFlink(read(name), { location: dir }).bytes;
    expect(total).toBe(onDisk.reduce((n, f) => n + statSync(join(dir, f)).size, 0));
  });

  it('reports a missing file and a file of another size', async () => {
    const refs = allFileRefs(read(SNAPSHOTS.hashmap120));
    const [a, b] = refs;
    const status = await checkRelativeFiles(refs, async (p) => (p === a?.path ? undefined : p === b?.path ? { size: 1 } : { size: refs.find((r) => r.path === p)?.size ?? -1 }));
    expect([status.get(a?.path ?? ''), status.get(b?.path ?? '')]).toEqual(['missing', 'size 1 on disk']);
    const summary = summarizeFlink(read(SNAPSHOTS.hashmap120), { location: '/x', fileStatus: status });
    expect(summary.files).toEqual({ relative: 20, absolute: 0, problems: 2 });
  });

  it('names operators by --uid, and lists uids that match none', () => {
    const s = summarizeFlink(read(SNAPSHOTS.heap13), { location: '/x', uids: ['LegacyCheckpointedSource', 'no-such-uid'] });
    const source = s.operators.find((o) => o.id === idOf('LegacyCheckpointedSource'));
    expect([source?.uid, source?.uidFrom]).toEqual(['LegacyCheckpointedSource', '--uid']);
    expect(s.unmatchedUids).toEqual([{ uid: 'no-such-uid', id: idOf('no-such-uid') }]);
  });

  it('every truncation of a real file is a FormatError naming an offset within it, never another error', () => {
    const bytes = bytesOf(SNAPSHOTS.rocks20);
    fc.assert(
      fc.property(fc.integer({ min: 0, max: bytes.length - 1 }), (cut) => {
        let error: unknown;
        try {
          readFlinkMetadata(bytes.subarray(0, cut), 'cut/_metadata');
        } catch (err) {
          error = err;
        }
        expect(error).toBeInstanceOf(FormatError);
        const e = error as FormatError;
        expect(e.offset).toBeLessThanOrEqual(cut);
        if (cut >= 8) expect(e.message).toMatch(/truncated|magic|Java/);
      }),
      { numRuns: 300 },
    );
    expect(() => readFlinkMetadata(bytes.subarray(0, 100), 'cut/_metadata')).toThrow(/^cut\/_metadata at offset \d+: truncated: /);
  });
});

describe('hand-made Flink files', () => {
  it('refuses an unknown keyed state handle tag with the tag and its offset', () => {
    const out = operatorStart(3).u8(0).i32(1).i32(0).i32(0).i32(0);
    const at = out.parts.length;
    const bytes = out.u8(99).bytes();
    expect(() => readFlinkMetadata(bytes, 'f/_metadata')).toThrow(`f/_metadata at offset ${at}: unknown keyed state handle tag 99`);
  });

  it('refuses an unknown stream handle tag (here as coordinator state) with the tag and its offset', () => {
    const out = operatorStart(4);
    const at = out.parts.length;
    expect(() => readFlinkMetadata(out.u8(200).bytes(), 'f/_metadata')).toThrow(`f/_metadata at offset ${at}: unknown stream state handle tag 200`);
  });

  it('refuses an unknown operator state handle tag and an unknown distribution mode', () => {
    const tagAt = operatorStart(3).u8(0).i32(1).i32(0).i32(1).parts.length;
    expect(() => readFlinkMetadata(operatorStart(3).u8(0).i32(1).i32(0).i32(1).u8(5).bytes(), 'f')).toThrow(`f at offset ${tagAt}: unknown operator state handle tag 5`);
    const mode = operatorStart(3).u8(0).i32(1).i32(0).i32(1).u8(4).i32(1).utf('s');
    const modeAt = mode.parts.length;
    expect(() => readFlinkMetadata(mode.u8(3).bytes(), 'f')).toThrow(`f at offset ${modeAt}: unknown distribution mode 3 of operator state 's'`);
  });

  it('refuses versions it does not know as Flink does, and files that are not Flink metadata', () => {
    const header = (v: number) => new JavaOut().i32(0x4960672d).i32(v).i64(1).bytes();
    expect(() => readFlinkMetadata(header(8), 'f')).toThrow('f at offset 4: Unrecognized checkpoint version number: 8 (this reader reads Flink metadata versions 2 to 7)');
    expect(() => readFlinkMetadata(header(0), 'f')).toThrow('Unrecognized checkpoint version number: 0');
    expect(isFlinkMetadata(Uint8Array.of(0x89, 0x54, 0x53, 0x46))).toBe(false);
    expect(() => readFlinkMetadata(Uint8Array.of(1, 2, 3, 4, 0, 0, 0, 3), 'f')).toThrow('not an Apache Flink _metadata file');
  });

  it('reads finished subtasks (negative index) and fully finished operators (count -1), version 3', () => {
    const finished = readFlinkMetadata(operatorStart(3).u8(0).i32(1).i32(-3).bytes(), 'f');
    expect(finished.operators[0]?.subtasks).toMatchObject([{ index: 2, finished: true }]);
    const full = readFlinkMetadata(operatorStart(3).u8(0).i32(-1).bytes(), 'f');
    expect(full.operators[0]).toMatchObject({ id: '00000000000000000000000000000001', fullyFinished: true, subtasks: [] });
  });

  it('version 6: tagged channel-state handles, plain and merged, and a null properties trailer', () => {
    const out = operatorStart(6).u8(0).i32(1).i32(0).i32(0).i32(0).u8(0).u8(0);
    out.i32(1).u8(1).i32(0).i32(0).i32(2).i32(1).i64(0).i64(40).u8(6).utf('chan-file').i64(40); // input channel (gate 0, channel 2)
    out.i32(1).u8(4).i32(0).i64(84).u8(6).utf('chan-file').i64(84).i32(3).u8(1, 2, 3); // merged result subpartitions
    const m = readFlinkMetadata(out.u8(0xac, 0xed, 0x00, 0x05, 0x70).bytes(), 'f');
    const st = m.operators[0]?.subtasks[0];
    expect(st?.inputChannels.map((c) => [c.kind, c.channel, c.size])).toEqual([['input-channel', [0, 2], 40]]);
    expect(st?.resultSubpartitions.map((c) => [c.kind, c.size])).toEqual([['merged-result-subpartitions', 84]]);
    expect(m.operators[0]).toMatchObject({ name: 'Map', uid: 'my-map' });
    expect(m.properties).toBeNull();
    const s = summarizeFlink(m, { location: '/x' });
    expect([s.kind, s.type, s.files.relative, s.operators[0]?.subtasks[0]?.channelStateBytes]).toEqual([null, null, 1, 124]);
  });

  it('refuses bytes after the last operator, and a non-null coordinator state that is not inline', () => {
    expect(() => readFlinkMetadata(operatorStart(3).u8(0).i32(0).u8(9).bytes(), 'f')).toThrow('1 unexpected byte(s) after the last operator');
    const coord = operatorStart(3);
    const at = coord.parts.length;
    expect(() => readFlinkMetadata(coord.u8(6).utf('x').i64(1).i32(0).bytes(), 'f')).toThrow(`f at offset ${at}: Expected a ByteStreamStateHandle as coordinator state`);
  });

  it('decodes modified UTF-8: NUL as C0 80 and a surrogate pair as two 3-byte forms', () => {
    // "a\0😀" in Java's writeUTF: 61 C0 80 ED A0 BD ED B8 80
    const out = new JavaOut().i32(0x4960672d).i32(5).i64(0).i32(0).i32(1).u8(0, 9, 0x61, 0xc0, 0x80, 0xed, 0xa0, 0xbd, 0xed, 0xb8, 0x80).utf('');
    out.u8(...new Array<number>(16).fill(0)).i32(1).i32(1).u8(0).i32(0).u8(0xac, 0xed, 0x00, 0x05, 0x70);
    expect(readFlinkMetadata(out.bytes(), 'f').operators[0]?.name).toBe('a\u0000😀');
  });

  it('version 2 reads the chain length and the legacy prefix of each subtask', () => {
    const out = operatorStart(2).i32(1).i32(0).i64(-1).i32(1).u8(1).utf('legacy').i32(2).u8(7, 7).i32(0).i32(0).u8(0).u8(0);
    const m = readFlinkMetadata(out.bytes(), 'f');
    expect(m.operators[0]?.subtasks[0]?.legacy).toMatchObject([{ kind: 'inline', name: 'legacy', size: 2 }]);
  });
});

describe('file merging handles (Flink 1.20+)', () => {
  /** One subtask whose managed operator state is a tag 17 handle over `delegate`. */
  const withSegment = (delegate: (out: JavaOut) => JavaOut): Uint8Array =>
    delegate(operatorStart(3).u8(0).i32(1).i32(0).i32(1).u8(17).i32(1).utf('s').u8(0).i32(2).i64(0).i64(8).utf('/ck/taskowned').utf('/ck/shared').u8(0))
      .i32(0).u8(0).u8(0).i32(0).i32(0)
      .bytes();

  it('reads a segment of a merged file (tag 17 over tag 15)', () => {
    const m = readFlinkMetadata(withSegment((o) => o.u8(15).i64(128).i64(64).i32(1).utf('/ck/shared/merged-1').utf('logical-7')), 'f');
    const h = m.operators[0]?.subtasks[0]?.managedOperatorState;
    expect(h).toMatchObject({ kind: 'file-merging-operator-stream', tag: 17, size: 64, taskOwnedDirectory: '/ck/taskowned', sharedDirectory: '/ck/shared' });
    expect(h?.delegate).toMatchObject({ kind: 'segment', startPos: 128, size: 64, scope: 'shared', path: '/ck/shared/merged-1', logicalFileId: 'logical-7' });
    expect(allFileRefs(m)).toEqual([{ path: '/ck/shared/merged-1', size: 64, relative: false }]);
    expect(readFlinkMetadata(withSegment((o) => o.u8(16)), 'f').operators[0]?.subtasks[0]?.managedOperatorState?.delegate).toMatchObject({ kind: 'empty-segment', size: 0 });
  });

  it('refuses a tag 17 handle whose delegate is no file segment, as Flink does', () => {
    expect(() => readFlinkMetadata(withSegment((o) => o.u8(0)), 'f')).toThrow('a file-merging operator state handle needs a file segment, found a null handle');
    expect(() => readFlinkMetadata(withSegment((o) => o.u8(6).utf('x').i64(1)), 'f')).toThrow('found a relative handle (tag 6)');
  });
});

describe('changelog and old incremental handles', () => {
  const keyedSubtask = (handle: (out: JavaOut) => JavaOut): Uint8Array =>
    handle(operatorStart(3).u8(0).i32(1).i32(0).i32(0).i32(0)).u8(0).i32(0).i32(0).bytes();

  it('reads a changelog handle (tag 14) over a materialized key-groups handle (12), inline changes (9) and a changelog file (13)', () => {
    const m = readFlinkMetadata(
      keyedSubtask((o) =>
        o.u8(14).i32(0).i32(2).i64(300)
          .i32(1).u8(12).i32(0).i32(2).i64(0).i64(10).u8(6).utf('base').i64(100).utf('id-base')
          .i32(2)
          .u8(9).i32(0).i32(2).i64(1).i64(3).i32(2).i32(0).i32(3).u8(1, 2, 3).i32(-1).i32(2).u8(4, 5).utf('id-mem')
          .u8(13).i32(0).i32(2).i32(1).i64(0).u8(2).i64(50).utf('s3://b/changelog/1').i64(50).i64(50).utf('id-file').utf('filesystem')
          .i64(9).i64(12).utf('id-all'),
      ),
      'f',
    );
    const h = m.operators[0]?.subtasks[0]?.managedKeyedState;
    if (h?.kind !== 'changelog') throw new Error(`expected changelog, got ${h?.kind}`);
    expect([h.range, h.checkpointedSize, h.materializationId, h.checkpointId, h.stateHandleId, h.size]).toEqual([{ start: 0, end: 1 }, 300, 9, 12, 'id-all', 155]);
    expect(h.materialized.map((x) => [x.kind, x.tag])).toEqual([['key-groups', 12]]);
    expect(h.nonMaterialized.map((x) => [x.kind, x.tag, x.size])).toEqual([['changelog-inline', 9, 5], ['changelog-file', 13, 50]]);
    expect(allFileRefs(m)).toEqual([
      { path: 'base', size: 100, relative: true },
      { path: 's3://b/changelog/1', size: 50, relative: false },
    ]);
  });

  it('reads the incremental handle of Flink 1.3 to 1.14 (tag 5: no checkpointed size, no handle id)', () => {
    const m = readFlinkMetadata(
      keyedSubtask((o) => o.u8(5).i64(3).utf('backend-1').i32(0).i32(4).u8(1).utf('meta').i32(2).u8(9, 9).i32(1).utf('000001.sst').u8(6).utf('sst-file').i64(40).i32(0)),
      'f',
    );
    const h = m.operators[0]?.subtasks[0]?.managedKeyedState;
    expect(h).toMatchObject({ kind: 'incremental', tag: 5, checkpointId: 3, backendId: 'backend-1', range: { start: 0, end: 3 }, size: 42 });
    expect(h !== null && h !== undefined && 'checkpointedSize' in h).toBe(false);
  });
});

describe('damaged real files', () => {
  it('a changed byte anywhere gives a result or a FormatError, never another error', () => {
    const files = [SNAPSHOTS.heap13, SNAPSHOTS.rocks111, SNAPSHOTS.rocks116, SNAPSHOTS.hashmap120, SNAPSHOTS.rocks20].map(bytesOf);
    fc.assert(
      fc.property(fc.nat(files.length - 1), fc.nat(), fc.integer({ min: 1, max: 255 }), (which, at, xor) => {
        const bytes = Uint8Array.from(files[which] ?? []);
        const i = at % bytes.length;
        bytes[i] = (bytes[i] ?? 0) ^ xor;
        try {
          readFlinkMetadata(bytes, 'damaged/_metadata');
        } catch (err) {
          if (!(err instanceof FormatError)) throw err;
        }
      }),
      { numRuns: 3000 },
    );
  });

  it('deeply nested changelog handles end in a FormatError, not a stack overflow', () => {
    const out = operatorStart(3).u8(0).i32(1).i32(0).i32(0).i32(0);
    for (let i = 0; i < 20_000; i++) out.u8(14).i32(0).i32(1).i64(0).i32(1);
    expect(() => readFlinkMetadata(out.bytes(), 'f')).toThrow(FormatError);
  });
});

describe('the properties trailer', () => {
  it('deeply nested Java objects end in a FormatError, not a stack overflow', () => {
    const out = operatorStart(4).u8(0).i32(0);
    // Each object's class has one object field, whose value is again such an object.
    out.u8(0xac, 0xed, 0x00, 0x05);
    out.u8(0x73, 0x72).utf('N').i64(1).u8(0x02, 0, 1, 0x4c).utf('n').u8(0x74).utf('LN;').u8(0x78, 0x70);
    for (let i = 0; i < 5000; i++) out.u8(0x73, 0x71).i32(0x7e0000);
    expect(() => readFlinkMetadata(out.bytes(), 'f')).toThrow(/Java objects nested more than 32 deep/);
  });

  it('refuses a trailer that is not CheckpointProperties, and bytes after it', () => {
    const str = operatorStart(4).u8(0).i32(0).u8(0xac, 0xed, 0x00, 0x05, 0x74).utf('hello');
    expect(() => readFlinkMetadata(str.bytes(), 'f')).toThrow('the trailer is not org.apache.flink.runtime.checkpoint.CheckpointProperties');
    const extra = operatorStart(4).u8(0).i32(0).u8(0xac, 0xed, 0x00, 0x05, 0x70, 0x70);
    expect(() => readFlinkMetadata(extra.bytes(), 'f')).toThrow('1 unexpected byte(s) after the checkpoint properties');
  });
});

describe('relative paths', () => {
  it('never joins an unsafe relative path to the snapshot directory: it is reported, not looked up', async () => {
    const paths = ['../outside', '/etc/passwd', 'a/../../b', 'C:\\x', 'ok-name'];
    const out = operatorStart(3).u8(0).i32(paths.length);
    paths.forEach((p, i) => out.i32(i).i32(1).u8(4).i32(0).u8(6).utf(p).i64(1).i32(0).u8(0).u8(0).i32(0).i32(0));
    const m = readFlinkMetadata(out.bytes(), 'f');
    const looked: string[] = [];
    const status = await checkRelativeFiles(allFileRefs(m), async (p) => {
      looked.push(p);
      return { size: 1 };
    });
    expect(looked).toEqual(['ok-name']);
    expect([...status]).toEqual([...paths.slice(0, 4).map((p) => [p, 'unsafe path']), ['ok-name', 'ok']]);
    expect(summarizeFlink(m, { location: '/x', fileStatus: status }).files).toEqual({ relative: 5, absolute: 0, problems: 4 });
  });
});

describe('version 7 (regional checkpoints)', () => {
  it('reads the optional reference checkpoint id after each subtask, and refuses another marker', () => {
    const subtask = (o: JavaOut, marker: number[]): JavaOut => o.i32(0).i32(0).u8(0).u8(0).i32(0).i32(0).u8(...marker);
    const two = operatorStart(7).u8(0).i32(2).i32(0);
    subtask(two, [1, 0, 0, 0, 0, 0, 0, 0, 41]).i32(1);
    const m = readFlinkMetadata(subtask(two, [0]).u8(0xac, 0xed, 0x00, 0x05, 0x70).bytes(), 'f');
    expect(m.operators[0]?.subtasks.map((s) => s.refCheckpointId)).toEqual([41, undefined]);
    expect(summarizeFlink(m, { location: '/x' }).operators[0]?.subtasks[0]?.refCheckpointId).toBe(41);
    const bad = operatorStart(7).u8(0).i32(1).i32(0).i32(0).i32(0).u8(0).u8(0).i32(0).i32(0);
    const at = bad.parts.length;
    expect(() => readFlinkMetadata(bad.u8(2).bytes(), 'f')).toThrow(`f at offset ${at}: reference checkpoint marker 2, expected 0 or 1`);
  });
});
