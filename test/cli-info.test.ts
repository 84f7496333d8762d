/**
 * `flink info` and `flink --version` through the real binary: Flink's execution plan JSON of a
 * job, built here without a cluster, and Flink's version line.
 */
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { ROOT, runFlink } from './support/run-flink.ts';

const WORD_COUNT = join(ROOT, 'fixtures', 'jobs', 'word-count.ts');

const PLAN = {
  nodes: [
    { id: 1, type: 'Source: words', pact: 'Data Source', contents: 'Source: words', parallelism: 2 },
    { id: 2, type: 'Map', pact: 'Operator', contents: 'Map', parallelism: 2, predecessors: [{ id: 1, ship_strategy: 'FORWARD', side: 'second' }] },
    { id: 3, type: 'Map', pact: 'Operator', contents: 'Map', parallelism: 2, predecessors: [{ id: 2, ship_strategy: 'FORWARD', side: 'second' }] },
    { id: 4, type: 'Keyed Reduce', pact: 'Operator', contents: 'Keyed Reduce', parallelism: 2, predecessors: [{ id: 3, ship_strategy: 'HASH', side: 'second' }] },
    { id: 5, type: 'Sink: Sink', pact: 'Data Sink', contents: 'Sink: Sink', parallelism: 2, predecessors: [{ id: 4, ship_strategy: 'FORWARD', side: 'second' }] },
  ],
};

describe('flink info', () => {
  it("prints the job's execution plan between Flink's rules, then that there is no description", async () => {
    const result = await runFlink(['info', '-p', '2', WORD_COUNT, '10']);
    expect(result.stderr).toBe('');
    expect(result.code).toBe(0);
    expect(result.stdout).toBe(
      `----------------------- Execution Plan -----------------------\n${JSON.stringify(PLAN, null, 2)}\n--------------------------------------------------------------\n\nNo description provided.\n`,
    );
  });

  it('--json prints the plan alone, on one line', async () => {
    const result = await runFlink(['info', '--json', '-p', '2', WORD_COUNT]);
    expect(result.code, result.stderr).toBe(0);
    expect(result.stdout).toBe(`${JSON.stringify(PLAN)}\n`);
  });

  it('a job file that does not exist: one line, exit 1', async () => {
    const missing = join(ROOT, 'no-such-job.ts');
    const result = await runFlink(['info', missing]);
    expect(result.code).toBe(1);
    expect(result.stdout).toBe('');
    expect(result.stderr.trimEnd().split('\n')).toHaveLength(1);
    expect(result.stderr).toContain(missing);
  });
});

describe('flink info: side outputs and partitioners', () => {
  const SIDE_OUTPUTS = join(ROOT, 'fixtures', 'jobs', 'side-outputs.ts');

  it('shows a side output as an edge from the operator that emits it, with its partitioner', async () => {
    const result = await runFlink(['info', '--json', '-p', '2', SIDE_OUTPUTS]);
    expect(result.code, result.stderr).toBe(0);
    const edge = (id: number, ship_strategy: string) => [{ id, ship_strategy, side: 'second' }];
    expect(JSON.parse(result.stdout)).toEqual({
      nodes: [
        { id: 1, type: 'Source: numbers', pact: 'Data Source', contents: 'Source: numbers', parallelism: 2 },
        { id: 2, type: 'split', pact: 'Operator', contents: 'split', parallelism: 2, predecessors: edge(1, 'FORWARD') },
        { id: 3, type: 'Sink: Print to Std. Out', pact: 'Data Sink', contents: 'Sink: Print to Std. Out', parallelism: 2, predecessors: edge(2, 'FORWARD') },
        // id 4 is the side output itself, a virtual node (as in Flink, not in the plan)
        { id: 5, type: 'times-100', pact: 'Operator', contents: 'times-100', parallelism: 4, predecessors: edge(2, 'RESCALE') },
        { id: 6, type: 'Sink: Print to Std. Out', pact: 'Data Sink', contents: 'Sink: Print to Std. Out', parallelism: 2, predecessors: edge(5, 'REBALANCE') },
      ],
    });
  });

  it("refuses forward() between different parallelisms in one line with Flink's message, exit 1", async () => {
    const result = await runFlink(['info', '-p', '2', SIDE_OUTPUTS, 'bad-forward']);
    expect(result.code).toBe(1);
    expect(result.stdout).toBe('');
    expect(result.stderr.trimEnd().split('\n')).toHaveLength(1);
    expect(result.stderr).toContain(
      'Forward partitioning does not allow change of parallelism. Upstream operation: split-2 parallelism: 2, downstream operation: times-100-5 parallelism: 4 You must use another partitioning strategy, such as broadcast, rebalance, shuffle or global.',
    );
  });
});

describe('flink --version', () => {
  it("prints Flink's version line", async () => {
    const result = await runFlink(['--version']);
    expect(result.code).toBe(0);
    expect(result.stdout).toMatch(/^Version: 0\.1\.0, Commit ID: (?:[0-9a-f]{7,}|DeadD0d0)\n$/);
  });
});
