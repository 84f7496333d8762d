/**
 * `npm run bench -- codec`: the element-batch codec alone, in CPU ns per record (encode, and
 * decode with every field read), for the shapes records usually have: short string keys routed by
 * key (the engine benchmark's), numbers, and small objects. It compares the codec in
 * element-codec.ts with whole batches through msgpackr as the codec did before (one flat array
 * per batch), and with msgpackr options that might have made that cheaper.
 *
 * Environment: BENCH_BATCHES (batches of 512 records per measurement, default 2000), BENCH_REPS (5).
 */
import { Buffer } from 'node:buffer';
import { Packr, Unpackr } from 'msgpackr';
import { BatchBuilder, BatchReader } from '../src/engine/runtime/element-codec.ts';
import { collectGarbage, cpuNs, range, table } from './stats.ts';
import { fmix32 } from '../src/format/murmur3.ts';

const BATCH = 512;

interface Codec {
  /** Encodes one batch of (value, timestamp, key group) records. */
  encode(values: readonly unknown[], keyGroups: readonly number[]): Uint8Array;
  /** Decodes one batch, touching every field; returns something derived, so nothing is elided. */
  decode(bytes: Uint8Array): number;
}

function direct(): Codec {
  const builder = new BatchBuilder();
  const reader = new BatchReader();
  return {
    encode(values, keyGroups) {
      for (let i = 0; i < values.length; i++) builder.addRecord(values[i], null, keyGroups[i]!);
      return builder.encode();
    },
    decode(bytes) {
      reader.load(bytes);
      let x = 0;
      while (reader.hasNext) {
        reader.read();
        x += reader.keyGroup + (reader.value === undefined ? 1 : 0) + (reader.timestamp ?? 0);
      }
      return x;
    },
  };
}

/** The codec as it was: [4, keyGroup, value, timestamp, ...] through msgpackr. */
function msgpackr(label: string, packr: Packr, unpackr: Unpackr, reuseBuffer = false): [string, Codec] {
  const buffer = Buffer.alloc(1 << 20);
  return [
    label,
    {
      encode(values, keyGroups) {
        const flat: unknown[] = [];
        for (let i = 0; i < values.length; i++) flat.push(4, keyGroups[i], values[i], null);
        if (reuseBuffer) packr.useBuffer(buffer);
        return new Uint8Array(packr.pack(flat));
      },
      decode(bytes) {
        const flat = unpackr.unpack(bytes) as unknown[];
        let x = 0;
        for (let i = 0; i < flat.length; i += 4) x += (flat[i + 1] as number) + (flat[i + 2] === undefined ? 1 : 0) + ((flat[i + 3] as number | null) ?? 0);
        return x;
      },
    },
  ];
}

const base = { useRecords: false, encodeUndefinedAsNil: true, variableMapSize: true } as const;
const unbase = { useRecords: false, mapsAsObjects: true, int64AsType: 'auto' as 'number' } as const;

function codecs(): [string, Codec][] {
  const structures: object[][] = [];
  return [
    ['direct (element-codec.ts)', direct()],
    msgpackr('msgpackr as before', new Packr(base), new Unpackr(unbase)),
    msgpackr('msgpackr, useBuffer', new Packr(base), new Unpackr(unbase), true),
    msgpackr('msgpackr, bundleStrings', new Packr({ ...base, bundleStrings: true }), new Unpackr({ ...unbase, bundleStrings: true })),
    msgpackr('msgpackr, moreTypes: false', new Packr({ ...base, moreTypes: false }), new Unpackr({ ...unbase, moreTypes: false })),
    msgpackr('msgpackr, useRecords (inline)', new Packr({ ...base, useRecords: true }), new Unpackr({ ...unbase, useRecords: true })),
    msgpackr('msgpackr, shared structures', new Packr({ ...base, useRecords: true, structures }), new Unpackr({ ...unbase, useRecords: true, structures })),
  ];
}

const shapes: Record<string, (i: number) => unknown> = {
  'string keys k<0..100k>': (i) => `k${fmix32(i) % 100_000}`,
  numbers: (i) => (i % 2 === 0 ? fmix32(i) : fmix32(i) / 7),
  'objects {user, amount, at}': (i) => ({ user: `user-${fmix32(i) % 1000}`, amount: (fmix32(i) % 10_000) / 100, at: 1_700_000_000_000 + i }),
};

export async function run(): Promise<void> {
  const batches = Number(process.env.BENCH_BATCHES ?? 2000);
  const reps = Number(process.env.BENCH_REPS ?? 5);
  const rows: string[][] = [['shape', 'codec', 'encode ns/record', 'decode ns/record', 'bytes/record']];
  for (const [shape, make] of Object.entries(shapes)) {
    const inputs = Array.from({ length: 16 }, (_, b) => {
      const values = Array.from({ length: BATCH }, (_, i) => make(b * BATCH + i));
      return { values, keyGroups: values.map((_, i) => fmix32(i) % 128) };
    });
    const all = codecs();
    const enc = new Map<string, number[]>();
    const dec = new Map<string, number[]>();
    const size = new Map<string, number>();
    let sink = 0;
    for (let rep = -1; rep < reps; rep++) {
      for (const [name, codec] of rep % 2 === 0 ? all : [...all].reverse()) {
        collectGarbage();
        const encoded: Uint8Array[] = [];
        let t = cpuNs();
        for (let b = 0; b < batches; b++) {
          const input = inputs[b % inputs.length]!;
          const bytes = codec.encode(input.values, input.keyGroups);
          if (b < inputs.length) encoded.push(bytes);
        }
        const encodeNs = (cpuNs() - t) / (batches * BATCH);
        t = cpuNs();
        for (let b = 0; b < batches; b++) sink += codec.decode(encoded[b % encoded.length]!);
        const decodeNs = (cpuNs() - t) / (batches * BATCH);
        if (rep < 0) continue; // warm-up
        enc.set(name, [...(enc.get(name) ?? []), encodeNs]);
        dec.set(name, [...(dec.get(name) ?? []), decodeNs]);
        size.set(name, encoded[0]!.length / BATCH);
      }
    }
    for (const [name] of all) {
      rows.push([shape, name, range(enc.get(name)!).median.toFixed(0), range(dec.get(name)!).median.toFixed(0), size.get(name)!.toFixed(1)]);
    }
    if (sink === 0.5) process.stdout.write(''); // keeps `sink` observable
  }
  process.stdout.write(`codec benchmark: batches of ${BATCH} keyed records, timestamp null; CPU ns per record, median of ${reps} interleaved runs of ${batches} batches\n`);
  process.stdout.write(table(rows) + '\n');
}
