/**
 * `flink plan-restore` through the real binary: golden output for an example job against a
 * committed snapshot (an operator dropped, operators new, a rescale, a max parallelism that
 * cannot change), and its verdict is `flink run -s`'s own: for the same snapshot, job and flags
 * its exit code and error line are what `run -s` gives before it would contact a cluster.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { ROOT, runFlink } from './support/run-flink.ts';
import { freePort } from './support/test-cluster.ts';

const SNAPSHOT = 'fixtures/savepoints/v2/ttl-states';
const JOB = 'examples/anomaly-detector.ts';

const golden = (file: string): string => readFileSync(join(ROOT, 'fixtures', 'golden', 'plan-restore', file), 'utf8');
const normalise = (text: string): string => text.split(ROOT).join('<root>');

interface Case {
  readonly name: string;
  readonly flags: readonly string[];
  readonly snapshot?: string;
  readonly ok: boolean;
}

const CASES: readonly Case[] = [
  { name: 'dropped-operator', flags: [], ok: false },
  { name: 'rescale-2-to-3', flags: ['-n', '-p', '3'], ok: true },
  { name: 'max-parallelism-changed', flags: ['-n', '-D', 'pipeline.max-parallelism=64'], ok: false },
  { name: 'parallelism-above-max', flags: ['-n', '-p', '200'], ok: false },
];

describe.concurrent('flink plan-restore', () => {
  for (const c of CASES) {
    it(`${c.name}: the golden table, exit ${c.ok ? 0 : 1}`, async () => {
      const result = await runFlink(['plan-restore', ...c.flags, SNAPSHOT, JOB]);
      expect(normalise(result.stdout)).toBe(golden(`${c.name}.txt`));
      expect(result.code, result.stderr).toBe(c.ok ? 0 : 1);
      expect(result.stderr === '').toBe(c.ok);
    });

    it(`${c.name}: the verdict and error line are those of flink run -s`, async () => {
      // No cluster answers at -m: run -s reports a restore problem before it looks for one, and
      // says that none answers only once the restore has been accepted.
      const address = `127.0.0.1:${await freePort()}`;
      const [plan, run] = await Promise.all([
        runFlink(['plan-restore', ...c.flags, SNAPSHOT, JOB]),
        runFlink(['run', '-m', address, ...c.flags, '-s', SNAPSHOT, JOB]),
      ]);
      expect(run.code).toBe(1);
      expect(run.stdout).toBe('');
      if (c.ok) {
        expect(plan.code).toBe(0);
        expect(run.stderr).toMatch(new RegExp(`^Could not connect to the JobManager at http://${address.replace(/\./g, '\\.')}: no cluster answers there\\.`));
      } else {
        expect(plan.code).toBe(1);
        expect(plan.stderr.split('\n')).toHaveLength(2); // one line and its newline
        expect(plan.stderr).toBe(run.stderr);
      }
    });
  }

  it('--json: the same report as data, with the verdict', async () => {
    const result = await runFlink(['plan-restore', '--json', '-n', '-p', '3', SNAPSHOT, JOB]);
    expect(result.code, result.stderr).toBe(0);
    expect(normalise(result.stdout)).toBe(golden('rescale-2-to-3.json'));
    const report = JSON.parse(result.stdout) as { ok: boolean; error: null; subtasks: { operator: string; keyedBytes: number }[] };
    expect(report.ok).toBe(true);
    // Every byte of the snapshot's keyed state is read by exactly one new subtask.
    const keyed = report.subtasks.filter((s) => s.operator === 'anomaly-detector').reduce((a, s) => a + s.keyedBytes, 0);
    expect(keyed).toBe(683 + 449 + 454);
  });

  it('--json of a refused restore carries run -s\'s error', async () => {
    const result = await runFlink(['plan-restore', '--json', SNAPSHOT, JOB]);
    expect(result.code).toBe(1);
    const report = JSON.parse(result.stdout) as { ok: boolean; error: string; operators: { uid: string; fate: string; problem: string | null }[] };
    expect(report.ok).toBe(false);
    expect(`${report.error}\n`).toBe(result.stderr);
    expect(report.operators.map((o) => [o.uid, o.fate])).toEqual([
      ['transactions', 'new'],
      ['anomaly-detector', 'matched'],
      ['alerts', 'new'],
      ['sink', 'dropped'],
    ]);
    expect(report.operators.find((o) => o.uid === 'sink')?.problem).toBe(report.error);
  });

  it('a snapshot that does not exist: run -s\'s line, exit 1, no table', async () => {
    const address = `127.0.0.1:${await freePort()}`;
    const missing = 'fixtures/savepoints/no-such-snapshot';
    const [plan, run] = await Promise.all([runFlink(['plan-restore', missing, JOB]), runFlink(['run', '-m', address, '-s', missing, JOB])]);
    expect(plan.code).toBe(1);
    expect(plan.stdout).toBe('');
    expect(plan.stderr).toBe(run.stderr);
    expect(normalise(plan.stderr)).toBe(
      'Cannot restore the job from <root>/fixtures/savepoints/no-such-snapshot: <root>/fixtures/savepoints/no-such-snapshot: no such file or directory. Give -s the directory of a savepoint or retained checkpoint (or its _metadata).\n',
    );
  });
});
