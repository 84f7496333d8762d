/**
 * `npm run demo`: until the engine exists, writes two sample savepoints of the order-totals job
 * with the format library, then shows them with the real `flink` binary: inspect, one key, diff
 * and verify. Everything goes to a fresh temporary directory, removed at the end.
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { writeSnapshot } from '../src/format/write-snapshot.ts';
import { LocalObjectStore } from '../src/storage/local-store.ts';
import { orderTotals } from './sample-state.ts';

const root = dirname(dirname(fileURLToPath(import.meta.url)));
const work = mkdtempSync(join(tmpdir(), 'tsflink-demo-'));

function flink(...args: string[]): number {
  process.stdout.write(`\n$ flink ${args.map((a) => (a.startsWith(work) ? a.replace(work, '$DEMO') : a)).join(' ')}\n`);
  const result = spawnSync(process.execPath, [join(root, 'bin/flink.js'), ...args], { stdio: 'inherit' });
  return result.status ?? 1;
}

try {
  const first = join(work, 'savepoint-3fa2c1-000000000001');
  const second = join(work, 'savepoint-3fa2c1-000000000002');
  process.stdout.write(`Writing two savepoints of the sample order-totals job to $DEMO=${work}\n`);
  await writeSnapshot(new LocalObjectStore(first), orderTotals({ checkpointId: 3, orders: 5_000, users: 300 }));
  await writeSnapshot(new LocalObjectStore(second), orderTotals({ checkpointId: 7, orders: 8_000, users: 320, later: true }));

  const steps: [string[], number[]][] = [
    [['inspect', first], [0]],
    [['inspect', first, '--operator', 'orders-window'], [0]],
    [['inspect', first, '--key', '"user-42"'], [0]],
    [['inspect', first, '--entries', '--state', 'splits'], [0]],
    [['diff', first, second, '--entries', '--limit', '3'], [1]],
    [['verify', second], [0]],
  ];
  for (const [args, expected] of steps) {
    const code = flink(...args);
    if (!expected.includes(code)) throw new Error(`flink ${args[0]} exited with ${code}, expected ${expected.join(' or ')}`);
  }
  process.stdout.write('\nDemo finished: the savepoints above were written, inspected, compared and verified.\n');
} finally {
  rmSync(work, { recursive: true, force: true });
}
