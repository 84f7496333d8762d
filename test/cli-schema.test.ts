/**
 * State schema evolution through the real binary: `flink diff --schema`, `flink plan-restore`
 * reporting a window accumulator that will be migrated or refused, and `flink run -s` refusing a
 * restore on a real cluster in one line (StateMigrationException) with exit 1, also with
 * checkpointing on (whose default restart strategy would otherwise restart forever). Golden
 * outputs in fixtures/golden/schema/; the savepoints are written by test/support/schema-savepoints.ts.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ROOT, runFlink } from './support/run-flink.ts';
import { writeSchemaSavepoint } from './support/schema-savepoints.ts';
import { type TestCluster, startTestCluster } from './support/test-cluster.ts';
import { tempDir } from './support/temp-dir.ts';

const golden = (file: string): string => readFileSync(join(ROOT, 'fixtures', 'golden', 'schema', file), 'utf8');

let dir: Awaited<ReturnType<typeof tempDir>>;
const sp = (name: string): string => join(dir.path, name);
const normalise = (text: string): string => text.split(dir.path).join('<dir>').replace(/[0-9a-f]{32}/g, '<job id>');

beforeAll(async () => {
  dir = await tempDir('tsflink-cli-schema-');
  await writeSchemaSavepoint(sp('v1'), 1, false);
  await writeSchemaSavepoint(sp('v2'), 2, true);
  await writeSchemaSavepoint(sp('v3'), 3, false);
});
afterAll(async () => {
  await dir?.remove();
});

describe('flink diff --schema', () => {
  it('lists the states added, removed and whose schema changed, per operator; exit 1', async () => {
    const result = await runFlink(['diff', '--schema', sp('v1'), sp('v2')]);
    expect(result.stderr).toBe('');
    expect(normalise(result.stdout)).toBe(golden('diff-schema.txt'));
    expect(result.code).toBe(1);
  });

  it('--json: the same as data', async () => {
    const result = await runFlink(['diff', '--schema', '--json', sp('v1'), sp('v2')]);
    expect(result.code).toBe(1);
    const diff = JSON.parse(result.stdout) as { equal: boolean; states: { operator: string; name: string; status: string; changes: unknown[] }[] };
    expect(diff.equal).toBe(false);
    expect(diff.states.map((s) => [s.operator, s.name, s.status, s.changes])).toEqual([
      ['dedup', 'legacy', 'removed', []],
      ['dedup', 'order-count', 'added', []],
      ['user-totals', 'window-contents', 'changed', [{ field: 'schemaVersion', a: 1, b: 2 }]],
    ]);
  });

  it('v1 against v3: only the version differs; a snapshot against itself: exit 0', async () => {
    const result = await runFlink(['diff', '--schema', sp('v1'), sp('v3')]);
    expect(normalise(result.stdout).split('\n').slice(2)).toEqual([
      'operator \'user-totals\'',
      '  ~ keyed state \'window-contents\': schemaVersion 1 -> 3',
      'State schemas differ: 0 state(s) added, 0 removed, 1 changed.',
      '',
    ]);
    const same = await runFlink(['diff', '--schema', sp('v1'), sp('v1')]);
    expect([same.code, normalise(same.stdout).split('\n').slice(2)]).toEqual([0, ['Snapshots have the same state schemas.', '']]);
  });

  it('refuses --entries and --limit with --schema in one line, exit 2', async () => {
    for (const flag of [['--entries'], ['--limit', '3']]) {
      const result = await runFlink(['diff', '--schema', ...flag, sp('v1'), sp('v2')]);
      expect([result.code, result.stdout, result.stderr]).toEqual([2, '', `--schema compares the states' declared schemas, not their entries: leave out ${flag[0]}\n`]);
    }
  });
});

describe('flink plan-restore of a window whose accumulator schema changed', () => {
  const job = (file: string, snapshot: string): Promise<{ code: number; stdout: string; stderr: string }> =>
    runFlink(['plan-restore', sp(snapshot), file, '--output', join(dir.path, 'out')]);

  it('reports the window state as migrated when the aggregate has a migrate hook', async () => {
    const result = await job('examples/order-totals-largest.ts', 'v1');
    expect(result.stderr).toBe('');
    expect(normalise(result.stdout)).toBe(golden('plan-restore-migrated.txt'));
    expect(result.code).toBe(0);
  });

  it('names the refusal the job will give when it opens: a newer version, or no hook', async () => {
    const newer = await job('examples/order-totals-largest.ts', 'v3');
    expect(normalise(newer.stdout)).toBe(golden('plan-restore-newer.txt'));
    const noHook = await job('fixtures/jobs/order-totals-no-migrate.ts', 'v1');
    expect(normalise(noHook.stdout)).toBe(golden('plan-restore-no-hook.txt'));
    // run -s submits such a job (the refusal comes when it opens), so the exit status is 0 as run's.
    expect([newer.code, noHook.code]).toEqual([0, 0]);
  });
});

describe('flink run -s refuses a state it cannot migrate', () => {
  let cluster: TestCluster;
  beforeAll(async () => {
    cluster = await startTestCluster();
  }, 60_000);
  afterAll(async () => {
    await cluster?.stop();
  });

  const run = (snapshot: string, file: string, extra: readonly string[] = []): ReturnType<typeof runFlink> =>
    runFlink(['run', ...cluster.defines, ...extra, '-s', sp(snapshot), join(ROOT, file), '--output', join(dir.path, 'run-out'), '--records', '100'], { cwd: cluster.scratch });

  it('fails the job in one line, exit 1, with and without checkpointing (no restarts)', async () => {
    const plain = await run('v1', 'fixtures/jobs/order-totals-no-migrate.ts');
    const checkpointed = await run('v1', 'fixtures/jobs/order-totals-no-migrate.ts', ['-D', 'execution.checkpointing.interval=1s', '-D', `execution.checkpointing.dir=${join(dir.path, 'chk')}`]);
    for (const r of [plain, checkpointed]) {
      expect(r.code).toBe(1);
      expect(normalise(r.stdout)).toBe('Job has been submitted with JobID <job id>\n');
      expect(normalise(r.stderr)).toBe(golden('run-no-hook.txt'));
    }
    const newer = await run('v3', 'examples/order-totals-largest.ts');
    expect(newer.code).toBe(1);
    expect(normalise(newer.stderr)).toBe(golden('run-newer.txt'));
  }, 120_000);

  it('with the hook, the same savepoint restores and the job finishes', async () => {
    const result = await run('v1', 'examples/order-totals-largest.ts');
    expect(result.stderr).toBe('');
    expect(result.code).toBe(0);
    expect(result.stdout).toMatch(/Job with JobID [0-9a-f]{32} has finished\./);
  }, 120_000);
});
