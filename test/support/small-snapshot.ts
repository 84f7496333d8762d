import type { SnapshotContent } from '../../src/format/write-snapshot.ts';

/** A few kilobytes with every kind of block: keyed (two operators), list and broadcast state. */
export function smallSnapshot(): SnapshotContent {
  return {
    info: { kind: 'savepoint', jobId: 'abcdefabcdefabcdefabcdefabcdef01', jobName: 'small', checkpointId: 4, createdAt: Date.UTC(2026, 0, 1) },
    operators: [
      {
        uid: 'counts',
        parallelism: 2,
        maxParallelism: 8,
        keyedStates: [
          { name: 'count', kind: 'value', entries: ['a', 'b', 'c', 'd', 'e', 'f'].map((k, i) => [k, i] as const) },
          { name: 'items', kind: 'list', entries: [['a', [1, 2]], [7, ['x']]] as const },
        ],
        operatorStates: [{ name: 'offsets', kind: 'list', mode: 'union', partitions: [[10], [20, 21]] }],
      },
      { uid: 'rules', parallelism: 1, maxParallelism: 4, operatorStates: [{ name: 'rules', kind: 'broadcast', mode: 'broadcast', partitions: [[['max', 5]]] }] },
    ],
  };
}
