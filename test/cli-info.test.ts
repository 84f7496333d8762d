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

describe('flink --version', () => {
  it("prints Flink's version line", async () => {
    const result = await runFlink(['--version']);
    expect(result.code).toBe(0);
    expect(result.stdout).toMatch(/^Version: 0\.1\.0, Commit ID: (?:[0-9a-f]{7,}|DeadD0d0)\n$/);
  });
});
