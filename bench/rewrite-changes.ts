/**
 * `npm run bench -- rewrite`: the chain rewrite thread's own work on a record of writes
 * (src/engine/checkpoint/sorted-changes.ts) against a Map per key group and a sort, as the
 * thread did it before:
 * - grouping a record's changes and taking every key group's in store order, the last change of
 *   a key winning: a loading record (300k new keys over 128 key groups, as the first checkpoints
 *   see while a million keys load) and a steady one (10k hot keys, two layers);
 * - a full block: a key group's base entries (7,800, one full block) with changes over them,
 *   1% and 50% of its keys.
 * CPU ns per change (per entry for the full blocks), median of BENCH_REPS (7) interleaved runs,
 * and the ratio per round. Both give the same keys in the same order, and the full blocks the same
 * values (checked once per case, untimed).
 */
import { changesOfGroup, deleteSorted, groupChanges, type SortedEntries, upsertSorted, valueStarts } from '../src/engine/checkpoint/sorted-changes.ts';
import { packLayers, type PackedOverlay } from '../src/engine/state/embedded/overlay-transfer.ts';
import { fmix32 } from '../src/format/murmur3.ts';
import { collectGarbage, cpuNs, range, ratios, table } from './stats.ts';

const GROUPS = 128;
const u16 = (n: number): string => String.fromCharCode(n >> 8, n & 0xff);
const storeKey = (k: number): string => `${u16(fmix32(k) % GROUPS)}\xa8k${k}${u16(0)}`;

function record(layers: number, keys: number, space: number): PackedOverlay {
  const packed = packLayers(Array.from({ length: layers }, (_, l) => new Map(Array.from({ length: keys }, (_, i) => [storeKey(fmix32(i + l * 7) % space), new Uint8Array([i & 0x7f])] as const))));
  // The keys as the thread gets them: flat strings out of a structured clone.
  return { ...packed, keys: structuredClone(packed.keys) };
}

/** The thread before (chain-rewrite-thread-main.ts until sorted-changes.ts; the value starts now shared): a Map per key group, then its keys sorted. */
function indexChanges(changes: PackedOverlay): { changes: PackedOverlay; starts: Int32Array; byGroup: Map<number, Map<string, number>> } {
  const { keys } = changes;
  const starts = valueStarts(changes.lengths);
  const byGroup = new Map<number, Map<string, number>>();
  let lastGroup = -1;
  let map: Map<string, number> | undefined;
  for (let i = 0; i < keys.length; i++) {
    const key = keys[i]!;
    const group = (key.charCodeAt(0) << 8) | key.charCodeAt(1);
    if (group !== lastGroup) {
      map = byGroup.get(group);
      if (map === undefined) byGroup.set(group, (map = new Map()));
      lastGroup = group;
    }
    map!.set(key, i);
  }
  return { changes, starts, byGroup };
}
function changesOf(record: ReturnType<typeof indexChanges>, keyGroup: number, count: number): { keys: string[][]; values: Uint8Array[][]; deletions: string[][] } {
  const keys: string[][] = Array.from({ length: count }, () => []);
  const values: Uint8Array[][] = Array.from({ length: count }, () => []);
  const deletions: string[][] = Array.from({ length: count }, () => []);
  const changes = record.byGroup.get(keyGroup);
  if (changes === undefined) return { keys, values, deletions };
  const { bytes, lengths } = record.changes;
  // Store keys sort as the canonical keys in them do within one state (canonical keys are self-delimiting).
  for (const storeKey of [...changes.keys()].sort()) {
    const id = (storeKey.charCodeAt(storeKey.length - 2) << 8) | storeKey.charCodeAt(storeKey.length - 1);
    if (id >= count) throw new Error(`a recorded change of state id ${id}, past the ${count} states`);
    const key = storeKey.slice(2, -2);
    const i = changes.get(storeKey)!;
    const start = record.starts[i]!;
    if (start < 0) deletions[id]!.push(key);
    else {
      keys[id]!.push(key);
      values[id]!.push(bytes.subarray(start, start + lengths[i]!));
    }
  }
  return { keys, values, deletions };
}

function byMaps(changes: PackedOverlay): string[] {
  const record = indexChanges(changes);
  const out: string[] = [];
  for (let g = 0; g < GROUPS; g++) out.push(...changesOf(record, g, 1).keys[0]!);
  return out;
}

function bySort(changes: PackedOverlay): string[] {
  const grouped = groupChanges(changes);
  const out: string[] = [];
  for (let g = 0; g < GROUPS; g++) out.push(...changesOfGroup(grouped, g, 1).keys[0]!);
  return out;
}

function fullByMap(base: SortedEntries, upserts: SortedEntries): SortedEntries {
  const content = new Map<string, Uint8Array>();
  base.keys.forEach((k, i) => content.set(k, base.values[i]!));
  upserts.keys.forEach((k, i) => content.set(k, upserts.values[i]!));
  const keys = [...content.keys()].sort();
  return { keys, values: keys.map((k) => content.get(k)!) };
}

function fullByMerge(base: SortedEntries, upserts: SortedEntries): SortedEntries {
  return deleteSorted(upsertSorted(base, upserts), []);
}

/** A full block's keys with each value's byte, to compare the two ways (not timed). */
const shown = (e: SortedEntries): string[] => e.keys.map((k, i) => `${k}=${e.values[i]![0]}`);

function entries(from: number, count: number, step: number): SortedEntries {
  const keys = Array.from({ length: count }, (_, i) => `\xa8k${String(from + i * step).padStart(8, '0')}`).sort();
  return { keys, values: keys.map((_, i) => new Uint8Array([i & 0x7f])) };
}

export async function run(): Promise<void> {
  const reps = Number(process.env.BENCH_REPS ?? 7);
  const base = entries(0, 7_800, 2);
  const cases: { name: string; per: number; old: () => string[]; ours: () => string[]; timed?: { old: () => unknown; ours: () => unknown } }[] = [];
  for (const [name, changes] of [
    ['a loading record: 300k new keys', record(1, 300_000, 1e9)],
    ['a steady record: 10k hot keys, 2 layers', record(2, 10_000, 10_000)],
  ] as const) {
    cases.push({ name, per: changes.keys.length, old: () => byMaps(changes), ours: () => bySort(changes) });
  }
  for (const [name, upserts] of [
    ['a full block: 7.8k entries, 1% changed', entries(1, 78, 200)],
    ['a full block: 7.8k entries, 50% changed', entries(0, 3_900, 4)],
  ] as const) {
    cases.push({ name, per: base.keys.length, old: () => shown(fullByMap(base, upserts)), ours: () => shown(fullByMerge(base, upserts)), timed: { old: () => fullByMap(base, upserts), ours: () => fullByMerge(base, upserts) } });
  }
  const rows: string[][] = [['work', 'Map and sort (baseline), ns', 'sorted-changes.ts, ns', 'ours / baseline per round, median (min-max)']];
  let differed = 0;
  for (const c of cases) {
    const times = { old: [] as number[], ours: [] as number[] };
    if (c.old().join('\n') !== c.ours().join('\n')) differed++;
    const repeat = Math.max(1, Math.round(300_000 / c.per));
    for (let rep = -1; rep < reps; rep++) {
      for (const which of rep % 2 === 0 ? (['old', 'ours'] as const) : (['ours', 'old'] as const)) {
        collectGarbage();
        const t = cpuNs();
        const work = c.timed?.[which] ?? c[which];
        for (let i = 0; i < repeat; i++) work();
        if (rep >= 0) times[which].push((cpuNs() - t) / (repeat * c.per));
      }
    }
    const r = range(ratios(times.ours, times.old));
    rows.push([c.name, range(times.old).median.toFixed(0), range(times.ours).median.toFixed(0), `${r.median.toFixed(2)} (${r.min.toFixed(2)}-${r.max.toFixed(2)})`]);
  }
  process.stdout.write(`chain rewrite thread: a record's changes and full blocks; CPU ns per change (full blocks: per entry), median of ${reps} interleaved runs; in ${differed} of ${cases.length} cases the keys differed from the baseline's\n`);
  process.stdout.write(table(rows) + '\n');
}
