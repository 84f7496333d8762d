/**
 * `npm run bench -- values`: the on-disk backends' value codec (state-context.ts `valueCodecOf`:
 * scalars by src/format/scalar-value.ts, the rest by msgpackr) against msgpackr alone, as the
 * codec was before, on what the record path does with a value: encode a new one, keep it (the
 * write-back cache keeps the bytes), decode it once (the next read of the key). CPU ns per value,
 * median of BENCH_REPS (7) interleaved runs of BENCH_VALUES (1M) values after a warm-up, and the
 * ratio per round. The same bytes either way (scalar-value.test.ts).
 */
import { Unpackr } from 'msgpackr';
import { type ValueCodec, valueCodecOf } from '../src/engine/state/embedded/state-context.ts';
import { createValuePackr, createValueUnpackr } from '../src/format/value-codec.ts';
import { fmix32 } from '../src/format/murmur3.ts';
import { collectGarbage, cpuNs, range, ratios, table } from './stats.ts';

/** valueCodecOf before scalar-value.ts: every value through msgpackr. */
function msgpackrAlone(): ValueCodec {
  const packr = createValuePackr();
  const unpackr = createValueUnpackr();
  const scalars = new Unpackr({ useRecords: false, mapsAsObjects: true, int64AsType: 'auto' as 'number', copyBuffers: true });
  return {
    encode: (value) => packr.pack(value),
    decode: (bytes) => {
      const b = bytes[0]!;
      if (!((b >= 0x80 && b <= 0x9f) || (b >= 0xdc && b <= 0xdf))) return scalars.unpack(bytes);
      return unpackr.unpackMultiple(bytes)[0];
    },
  };
}

const shapes: Record<string, (i: number) => unknown> = {
  'counts (0 to 65,535)': (i) => fmix32(i) % 65_536,
  'ints within 32 bits': (i) => fmix32(i) | 0,
  doubles: (i) => fmix32(i) / 7,
  booleans: (i) => (fmix32(i) & 1) === 1,
  'strings (not scalars here)': (i) => `user-${fmix32(i) % 1000}`,
};

export async function run(): Promise<void> {
  const n = Number(process.env.BENCH_VALUES ?? 1_000_000);
  const reps = Number(process.env.BENCH_REPS ?? 7);
  const rows: string[][] = [['values', 'msgpackr alone (baseline), ns/value', 'valueCodecOf, ns/value', 'valueCodecOf / msgpackr per round, median (min-max)']];
  // As the cache holds them: a value lives until its key is written again.
  const kept = new Array<Uint8Array>(10_000);
  let mismatched = 0;
  for (const [shape, make] of Object.entries(shapes)) {
    const inputs = Array.from({ length: 4096 }, (_, i) => make(i));
    const cases: [string, ValueCodec][] = [
      ['msgpackr', msgpackrAlone()],
      ['codec', valueCodecOf(createValuePackr(), createValueUnpackr())],
    ];
    const times = new Map<string, number[]>(cases.map(([name]) => [name, []]));
    for (let rep = -1; rep < reps; rep++) {
      for (const [name, codec] of rep % 2 === 0 ? cases : [...cases].reverse()) {
        collectGarbage();
        const t = cpuNs();
        for (let i = 0; i < n; i++) {
          const bytes = codec.encode(inputs[i & 4095]);
          kept[i % 10_000] = bytes;
          if (codec.decode(bytes) !== inputs[i & 4095]) mismatched++;
        }
        if (rep >= 0) times.get(name)!.push((cpuNs() - t) / n);
      }
    }
    const base = times.get('msgpackr')!;
    const ours = times.get('codec')!;
    const r = range(ratios(ours, base));
    rows.push([shape, range(base).median.toFixed(0), range(ours).median.toFixed(0), `${r.median.toFixed(2)} (${r.min.toFixed(2)}-${r.max.toFixed(2)})`]);
  }
  process.stdout.write(`state values benchmark: encode, keep, decode once; CPU ns per value, median of ${reps} interleaved runs of ${n} values; ${mismatched} decoded values differed from what was encoded\n`);
  process.stdout.write(table(rows) + '\n');
}
