/**
 * Writes the format version 3 fixture once: a checkpoint root at
 * fixtures/savepoints/v3/incremental/ with three incremental checkpoints of one job
 * (`<jobId>/chk-1` full, `chk-2` and `chk-3` deltas over it, all data in `<jobId>/shared/`), and
 * the golden `inspect` outputs of each under fixtures/golden/v3/. Never rewrites what exists:
 * the committed bytes are the proof that version 3 stays readable (tests never regenerate them).
 *
 *   npx tsx scripts/make-v3-fixture.ts
 */
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { dirname, join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { type IncrementalBase, writeIncrementalCheckpoint } from '../src/format/write-incremental-checkpoint.ts';
import type { OperatorContent } from '../src/format/write-snapshot.ts';
import { LocalObjectStore } from '../src/storage/local-store.ts';

const root = dirname(dirname(fileURLToPath(import.meta.url)));
const fixture = join(root, 'fixtures', 'savepoints', 'v3', 'incremental');
const goldenDir = join(root, 'fixtures', 'golden', 'v3');
const jobId = '3c0ffee0000000000000000000000003';
const createdAt = Date.UTC(2026, 11, 6, 12, 0, 0);
const users = (from: number, to: number): string[] => Array.from({ length: to - from }, (_, i) => `user-${from + i}`);

/** The whole state as of each checkpoint; the writer derives each delta from two of them. */
function operators(checkpoint: 1 | 2 | 3): OperatorContent[] {
  const count = new Map(users(0, 20).map((u, i) => [u, i] as [string, number]));
  const recent = new Map(users(0, 10).map((u, i) => [u, [i]] as [string, number[]]));
  const byItem = new Map(users(0, 8).map((u, i) => [u, [['apple', i]]] as [string, [string, unknown][]]));
  const timers = new Map(users(0, 6).map((u, i) => [u, [[0, createdAt + i * 1000]]] as [string, [number, number][]]));
  if (checkpoint >= 2) {
    for (const u of users(0, 5)) count.set(u, count.get(u)! + 100);
    for (const u of users(15, 20)) count.delete(u);
    for (const u of users(20, 23)) count.set(u, 7);
    for (const u of users(0, 3)) recent.get(u)!.push(99);
    recent.delete('user-9');
    byItem.set('user-1', [['apple', 1], ['pear', { ripe: true }]]);
    timers.delete('user-0');
    timers.set('user-6', [[1, createdAt + 6000]]);
  }
  if (checkpoint >= 3) {
    count.set('user-0', -1);
    count.set('user-15', 150); // deleted by chk-2, back again
    count.delete('user-1');
    for (const u of users(0, 8)) if (u !== 'user-3') byItem.delete(u);
  }
  return [
    {
      uid: 'source',
      name: 'Generator source',
      parallelism: 2,
      maxParallelism: 128,
      operatorStates: [{ name: 'offsets', kind: 'list', mode: 'split', partitions: [[{ split: 0, offset: 100 * checkpoint }], [{ split: 1, offset: 100 * checkpoint + 1 }]] }],
    },
    {
      uid: 'counter',
      name: 'Keyed counter',
      parallelism: 2,
      maxParallelism: 128,
      stateBackend: 'hashmap',
      keyedStates: [
        { name: 'count', kind: 'value', entries: count },
        { name: 'recent', kind: 'list', entries: recent },
        { name: 'by-item', kind: 'map', entries: byItem },
        { name: '_timers', kind: 'timers', entries: timers },
      ],
    },
  ];
}

if (existsSync(fixture)) {
  console.log(`kept    ${relative(root, fixture)} (fixtures are never rewritten)`);
} else {
  mkdirSync(fixture, { recursive: true });
  const store = new LocalObjectStore(fixture);
  let base: IncrementalBase | undefined;
  for (const checkpointId of [1, 2, 3] as const) {
    const snapshot = new LocalObjectStore(join(fixture, jobId, `chk-${checkpointId}`));
    const cp = { jobId, jobName: 'fixture-incremental', checkpointId, createdAt: createdAt + checkpointId * 60_000, operators: operators(checkpointId) };
    const written = await writeIncrementalCheckpoint(store, snapshot, cp, base);
    if (written.metadata.formatVersion !== 3) throw new Error(`chk-${checkpointId} was written in version ${written.metadata.formatVersion}, not 3`);
    base = written.base;
    console.log(`written ${relative(root, snapshot.location)}`);
  }
}

const flink = (...args: string[]): string =>
  execFileSync(process.execPath, [join(root, 'bin/flink.js'), ...args], { cwd: root, encoding: 'utf8', env: { ...process.env, NO_COLOR: '1' } });
mkdirSync(goldenDir, { recursive: true });
for (const checkpointId of [1, 2, 3]) {
  const rel = relative(root, join(fixture, jobId, `chk-${checkpointId}`));
  const goldens: Record<string, string[]> = {
    'inspect.json': ['inspect', rel, '--json'],
    'entries.jsonl': ['inspect', rel, '--entries'],
    'inspect.txt': ['inspect', rel],
  };
  for (const [file, args] of Object.entries(goldens)) {
    const target = join(goldenDir, `incremental.chk-${checkpointId}.${file}`);
    if (existsSync(target)) continue;
    writeFileSync(target, flink(...args).replaceAll(root, '<root>'));
    console.log(`written ${relative(root, target)}`);
  }
}
