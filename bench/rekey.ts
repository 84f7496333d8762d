/**
 * `npm run bench -- rekey`: `flink rekey` and `flink verify` throughput on the format benchmark's
 * savepoint (N entries `user-<i>` -> {count, sum, last}, maxParallelism 128, parallelism 1),
 * beside the format benchmark's read (SnapshotReader.readKeyed into a Map) measured in the same
 * run, interleaved, on the same warm files.
 *
 * - rekey: rekeySnapshot 128 -> 256 with the default 256 MiB budget (regrouped in memory), then
 *   its built-in verify of the result; the figure is for both, as the command does both.
 * - rekey, spilling: the same with a 16 MiB budget, so the state goes through spill runs.
 * - verify: verifySnapshot of the source (every byte, every key re-encoded and hashed).
 *
 * - plain read: the format benchmark's baseline (readFile + msgpackr unpack of one array of the
 *   same pairs + Map.set), its rate in bytes of its own file.
 *
 * Rates are entries and source data bytes (MB = 10^6 bytes) per second; ratio = read time (or
 * plain read time) / its time per round (so 0.5 means half the read's rate). Environment: BENCH_ENTRIES (default
 * 1000000), BENCH_REPS (default 4).
 */
import { mkdtemp, rm, stat } from 'node:fs/promises';
import { cpus, tmpdir } from 'node:os';
import { join } from 'node:path';
import { rekeySnapshot } from '../src/format/rekey-snapshot.ts';
import { SnapshotReader } from '../src/format/snapshot-reader.ts';
import { verifySnapshot } from '../src/format/verify-snapshot.ts';
import { LocalObjectStore } from '../src/storage/local-store.ts';
import { check, groupByKeyGroup, makeEntries, positiveIntFromEnv, progress, readBaseline, readSavepoint, writeBaseline, writeSavepoint } from './format.ts';
import { bold, bytes, count, duration, interleave, mbPerSecond, range, ratios, table, timed } from './stats.ts';

const DEFAULT_BUDGET = 256 * 1024 * 1024;
const SPILL_BUDGET = 16 * 1024 * 1024;

export async function run(): Promise<void> {
  const n = positiveIntFromEnv('BENCH_ENTRIES', 1_000_000);
  const reps = positiveIntFromEnv('BENCH_REPS', 4);
  const root = await mkdtemp(join(tmpdir(), 'tsflink-bench-rekey-'));
  const started = performance.now();
  try {
    const entries = makeEntries(n);
    const groups = groupByKeyGroup(entries);
    const source = join(root, 'source');
    await writeSavepoint(source, groups);
    const plainFile = join(root, 'plain.msgpack');
    await writeBaseline(plainFile, groups.flat());
    const plainBytes = (await stat(plainFile)).size;
    const sourceStore = new LocalObjectStore(source);
    const meta = (await SnapshotReader.open(sourceStore)).metadata;
    const dataBytes = meta.files.reduce((sum, f) => sum + f.size, 0);
    let serial = 0;
    const spilled: number[] = [];
    const rekeyOnce = async (memoryBytes: number): Promise<number> => {
      const target = join(root, `rekeyed-${serial}`);
      const spill = join(root, `spill-${serial++}`);
      let valid = false;
      const seconds = await timed(async () => {
        const result = await rekeySnapshot(await SnapshotReader.open(sourceStore), new LocalObjectStore(target), { maxParallelism: 256, memoryBytes, spill: new LocalObjectStore(spill) });
        valid = result.verify.valid && result.keyedEntries === n;
        if (memoryBytes === SPILL_BUDGET) spilled.push(result.stats.spilledBytes);
      });
      if (!valid) throw new Error('rekeyed savepoint did not verify or lost entries');
      await rm(target, { recursive: true, force: true });
      await rm(spill, { recursive: true, force: true });
      return seconds;
    };
    const times = await interleave(
      {
        read: async () => {
          let map: Awaited<ReturnType<typeof readSavepoint>> | undefined;
          const seconds = await timed(async () => (map = await readSavepoint(source)));
          check(map!, entries, 'read');
          return seconds;
        },
        plain: async () => {
          let map: Awaited<ReturnType<typeof readBaseline>> | undefined;
          const seconds = await timed(async () => (map = await readBaseline(plainFile)));
          check(map!, entries, 'plain read');
          return seconds;
        },
        rekey: () => rekeyOnce(DEFAULT_BUDGET),
        spilling: () => rekeyOnce(SPILL_BUDGET),
        verify: async () => {
          let valid = false;
          const seconds = await timed(async () => {
            const report = await verifySnapshot(sourceStore);
            valid = report.valid && report.checked.entries === n;
          });
          if (!valid) throw new Error('source did not verify');
          return seconds;
        },
      },
      { reps, progress: progress('rekey', reps) },
    );
    const read = range(times.read);
    const rate = (s: number, byteCount = dataBytes): string => `${count(n / s)} entries/s, ${mbPerSecond(byteCount, s)}`;
    const row = (label: string, samples: readonly number[], byteCount = dataBytes): string[] => {
      const r = range(samples);
      const ratio = range(ratios(times.read, samples));
      const plain = range(ratios(times.plain, samples));
      return [
        label,
        rate(r.median, byteCount),
        `median ${duration(r.median)} (${duration(r.min)}-${duration(r.max)})`,
        `to read ${ratio.median.toFixed(2)} (${ratio.min.toFixed(2)}-${ratio.max.toFixed(2)})`,
        `to plain ${plain.median.toFixed(2)} (${plain.min.toFixed(2)}-${plain.max.toFixed(2)})`,
      ];
    };
    const cpu = cpus()[0]?.model.trim() ?? 'unknown CPU';
    const lines = [
      bold(`rekey benchmark: ${n.toLocaleString('en-US')} entries 'user-<i>' -> {count, sum, last}, ${bytes(dataBytes)} of data, maxParallelism 128 -> 256`),
      `node ${process.version}, ${process.platform} ${process.arch}, ${cpus().length} x ${cpu}; temp dir ${root}`,
      `${reps} runs after 1 warm-up, interleaved; figures are medians (min-max); rates are of the source's entries and data bytes; ratios = read's (or plain read's) time / its time per round`,
      'read: SnapshotReader.readKeyed into a Map (the format benchmark\'s read); plain: the format benchmark\'s baseline, readFile + msgpackr unpack of one array of the same pairs + Map.set',
      '',
      table([
        ['read (baseline)', rate(read.median), `median ${duration(read.median)} (${duration(read.min)}-${duration(read.max)})`, '', ''],
        row('plain msgpackr read', times.plain, plainBytes),
        row('rekey + its verify', times.rekey),
        row(`rekey, ${bytes(SPILL_BUDGET)} budget`, times.spilling),
        row('verify', times.verify),
      ]),
      '',
      `spilled under the ${bytes(SPILL_BUDGET)} budget: ${bytes(spilled[0] ?? 0)} per run; total benchmark time ${duration((performance.now() - started) / 1000)}`,
    ];
    process.stdout.write(lines.join('\n') + '\n');
  } finally {
    await rm(root, { recursive: true, force: true });
  }
}
