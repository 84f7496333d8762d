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

export interface FlinkGolden {
  /** Under fixtures/golden/flink/. */
  readonly file: string;
  /** Arguments of `flink`; `@name` stands for the directory of snapshot `name`. */
  readonly args: readonly string[];
  readonly exitCode: number;
}

const table = (name: string, ...more: string[]): FlinkGolden => ({ file: `${name}.inspect.txt`, args: ['inspect', `@${name}`, ...more], exitCode: 0 });

/** The golden outputs of `flink inspect` and `flink diff` of Flink snapshots (fixtures/generate.ts writes missing ones). */
export const FLINK_GOLDENS: readonly FlinkGolden[] = [
  table(SNAPSHOTS.heap13, '--uid', 'LegacyCheckpointedSource', '--uid', 'LegacyCheckpointedFlatMap', '--uid', 'LegacyCheckpointedFlatMapWithKeyedState', '--uid', 'KeyedStateSettingFlatMap', '--uid', 'custom_operator'),
  table(SNAPSHOTS.memory15, ...['CheckpointingSource1', 'CheckpointingSource2', 'BrCheckpointingSource1', 'BrCheckpointingSource2', 'BrProcess1', 'BrProcess2'].flatMap((u) => ['--uid', u])),
  table(SNAPSHOTS.rocks111),
  table(SNAPSHOTS.hashmap115),
  table(SNAPSHOTS.rocks116),
  table(SNAPSHOTS.hashmap120),
  table(SNAPSHOTS.rocks20),
  { file: `${SNAPSHOTS.hashmap120}.inspect.json`, args: ['inspect', `@${SNAPSHOTS.hashmap120}`, '--json', '--uid', 'BrProcess1'], exitCode: 0 },
  { file: `${SNAPSHOTS.rocks20}.inspect.json`, args: ['inspect', `@${SNAPSHOTS.rocks20}`, '--json'], exitCode: 0 },
  { file: `diff-${SNAPSHOTS.rocks111}-${SNAPSHOTS.rocks20}.txt`, args: ['diff', `@${SNAPSHOTS.rocks111}`, `@${SNAPSHOTS.rocks20}`], exitCode: 1 },
  { file: `diff-${SNAPSHOTS.hashmap120}-all-kinds.txt`, args: ['diff', `@${SNAPSHOTS.hashmap120}`, 'fixtures/savepoints/v1/all-kinds'], exitCode: 1 },
  { file: `diff-${SNAPSHOTS.memory15}-${SNAPSHOTS.hashmap120}.json`, args: ['diff', `@${SNAPSHOTS.memory15}`, `@${SNAPSHOTS.hashmap120}`, '--json', '--uid', 'BrProcess1', '--uid', 'BrProcess2'], exitCode: 1 },
];

/** `@name` arguments as paths relative to the repository root (as a user in the checkout types them). */
export function flinkArgs(args: readonly string[]): string[] {
  return args.map((a) => (a.startsWith('@') ? `../shared/flink-savepoints/${a.slice(1)}` : a));
}

/** Goldens hold no machine paths. */
export function normaliseFlinkOutput(text: string): string {
  return text.replaceAll(FLINK_SAVEPOINTS, '<flink-savepoints>').replaceAll(ROOT, '<root>');
}
