/**
 * Apache Flink's own snapshots (Flink 1.2 to 2.0) that the Flink reader is tested against. They
 * live beside the checkout, in ../shared/flink-savepoints (never copied into the repository); when
 * that folder is missing the tests fail saying so, they are never skipped.
 */
import { existsSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { ROOT } from './run-flink.ts';

export const FLINK_SAVEPOINTS = resolve(ROOT, '../shared/flink-savepoints');

/** The directory of one of them, or an Error naming what is missing and where it was looked for. */
export function flinkSnapshotDir(name: string): string {
  const dir = join(FLINK_SAVEPOINTS, name);
  if (!existsSync(join(dir, '_metadata'))) {
    throw new Error(`${dir}/_metadata is missing: the Flink reader's tests need Apache Flink's snapshots in ../shared/flink-savepoints beside the checkout (README.md, Development)`);
  }
  return dir;
}

export const SNAPSHOTS = {
  v1: 'flink1.2-v1-operatorstate-nonKeyed',
  heap13: 'flink1.3-v2-heap-savepoint-stateful-udf',
  memory15: 'flink1.5-v2-memory-savepoint-broadcast',
  rocks111: 'flink1.11-v3-rocksdb-savepoint-udf',
  hashmap115: 'flink1.15-v3-hashmap-checkpoint-udf',
  rocks116: 'flink1.16-v4-rocksdb-savepoint-native-broadcast',
  hashmap120: 'flink1.20-v4-hashmap-savepoint-broadcast',
  rocks20: 'flink2.0-v5-rocksdb-checkpoint-udf',
} as const;
