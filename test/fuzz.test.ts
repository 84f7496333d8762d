/**
 * Bounded, seeded fuzzing of the readers: random damage to whole files, and damage behind valid
 * checksums (so the decoders themselves see hostile MessagePack and hostile metadata). The only
 * acceptable outcomes are a successful read or a FormatError; never another exception, never a hang.
 */
import { readFile, readdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { FormatError } from '../src/errors.ts';
import { crc32 } from '../src/format/crc32.ts';
import { decodeMetadata } from '../src/format/metadata-readers.ts';
import { SnapshotReader } from '../src/format/snapshot-reader.ts';
import { verifySnapshot } from '../src/format/verify-snapshot.ts';
import { writeSnapshot } from '../src/format/write-snapshot.ts';
import { LocalObjectStore } from '../src/storage/local-store.ts';
import { readEverything } from './support/read-everything.ts';
import { smallSnapshot } from './support/small-snapshot.ts';
import { tempDir } from './support/temp-dir.ts';

let dir: Awaited<ReturnType<typeof tempDir>>;
let store: LocalObjectStore;
let originals: Map<string, Buffer>;

beforeAll(async () => {
  dir = await tempDir();
  store = new LocalObjectStore(dir.path);
  await writeSnapshot(store, smallSnapshot());
  originals = new Map();
  for (const name of await readdir(dir.path)) originals.set(name, await readFile(join(dir.path, name)));
});
afterAll(async () => {
  await dir.remove();
});

async function restore(): Promise<void> {
  for (const [name, bytes] of originals) await writeFile(join(dir.path, name), bytes);
}

/** Runs both readers; fails the test on anything but success or a FormatError. */
async function expectOnlyFormatErrors(): Promise<void> {
  try {
    await readEverything(store);
  } catch (err) {
    if (!(err instanceof FormatError)) throw new Error(`reader threw ${String(err)}`, { cause: err });
  }
  const report = await verifySnapshot(store);
  expect(Array.isArray(report.problems)).toBe(true);
}

const mutation = fc.record({
  kind: fc.constantFrom('set', 'insert', 'delete', 'splice'),
  at: fc.nat(),
  bytes: fc.uint8Array({ minLength: 1, maxLength: 16 }),
});

function mutate(bytes: Buffer, m: { kind: string; at: number; bytes: Uint8Array }): Buffer {
  const at = bytes.length === 0 ? 0 : m.at % bytes.length;
  switch (m.kind) {
    case 'set': {
      const out = Buffer.from(bytes);
      out.set(m.bytes.subarray(0, Math.max(0, out.length - at)), at);
      return out;
    }
    case 'insert':
      return Buffer.concat([bytes.subarray(0, at), m.bytes, bytes.subarray(at)]);
    case 'delete':
      return Buffer.concat([bytes.subarray(0, at), bytes.subarray(at + m.bytes.length)]);
    default:
      return Buffer.concat([bytes.subarray(0, at), m.bytes, bytes.subarray(at + m.bytes.length)]);
  }
}

/** Rewrites the CRC of every section of a `_metadata` whose payload was changed in place. */
function resealMetadata(bytes: Buffer): Buffer {
  const out = Buffer.from(bytes);
  let offset = 24;
  while (offset + 12 <= out.length) {
    const length = out.readUInt32BE(offset + 4);
    const end = offset + 8 + length;
    if (end + 4 > out.length) break;
    out.writeUInt32BE(crc32(out.subarray(offset, end)), end);
    offset = end + 4;
  }
  return out;
}

describe('reader fuzzing', () => {
  it('survives random damage to any file', async () => {
    const names = [...originals.keys()].sort();
    await fc.assert(
      fc.asyncProperty(fc.constantFrom(...names), fc.array(mutation, { minLength: 1, maxLength: 4 }), async (name, mutations) => {
        let bytes = originals.get(name)!;
        for (const m of mutations) bytes = mutate(bytes, m);
        await writeFile(join(dir.path, name), bytes);
        try {
          await expectOnlyFormatErrors();
        } finally {
          await restore();
        }
      }),
      { numRuns: 300, seed: 20261121 },
    );
  });

  it('survives hostile MessagePack behind valid section checksums in _metadata', async () => {
    const original = originals.get('_metadata')!;
    await fc.assert(
      fc.property(fc.array(fc.record({ at: fc.integer({ min: 24, max: original.length - 1 }), byte: fc.integer({ min: 0, max: 255 }) }), { minLength: 1, maxLength: 6 }), (edits) => {
        const damaged = Buffer.from(original);
        for (const { at, byte } of edits) damaged[at] = byte;
        try {
          decodeMetadata(resealMetadata(damaged), '_metadata');
        } catch (err) {
          if (!(err instanceof FormatError)) throw new Error(`decodeMetadata threw ${String(err)}`, { cause: err });
        }
      }),
      { numRuns: 3000, seed: 7 },
    );
  });

  it('survives hostile frames behind valid frame and block checksums', async () => {
    const meta = decodeMetadata(originals.get('_metadata')!, '_metadata');
    const op = meta.operators.find((o) => o.uid === 'counts')!;
    const block = op.keyedStates[0]!.blocks[0]!;
    const file = meta.files[block.file]!;
    const original = originals.get(file.path)!;
    const payloadStart = block.offset + 12;
    const payloadEnd = block.offset + 12 + original.readUInt32BE(block.offset);
    await fc.assert(
      fc.asyncProperty(fc.array(fc.record({ at: fc.integer({ min: payloadStart, max: payloadEnd - 1 }), byte: fc.integer({ min: 0, max: 255 }) }), { minLength: 1, maxLength: 4 }), async (edits) => {
        const damaged = Buffer.from(original);
        for (const { at, byte } of edits) damaged[at] = byte;
        // Re-seal the frame so only the decoder stands between the bytes and the caller.
        damaged.writeUInt32BE(crc32(damaged.subarray(payloadStart, payloadEnd), crc32(damaged.subarray(block.offset, block.offset + 8))), block.offset + 8);
        await writeFile(join(dir.path, file.path), damaged);
        try {
          const reader = await SnapshotReader.open(store);
          for await (const _ of reader.readKeyed('counts', op.keyedStates[0]!.name)) void _;
        } catch (err) {
          if (!(err instanceof FormatError)) throw new Error(`reader threw ${String(err)}`, { cause: err });
        } finally {
          await restore();
        }
      }),
      { numRuns: 300, seed: 99 },
    );
  });
});
