/**
 * `flink inspect` and `flink diff` of Apache Flink's own snapshots (Flink 1.2 to 2.0, in
 * ../shared/flink-savepoints beside the checkout), through the real binary: golden outputs,
 * Flink's refusal of version 1, a truncated and a damaged copy, and a diff against a tsflink
 * port of a Flink job that matches its operators by id.
 */
import { cpSync, mkdirSync, readFileSync, statSync, truncateSync, unlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { writeSnapshot } from '../src/format/write-snapshot.ts';
import { LocalObjectStore } from '../src/storage/local-store.ts';
import { FLINK_GOLDENS, FLINK_SAVEPOINTS, SNAPSHOTS, flinkArgs, flinkSnapshotDir, normaliseFlinkOutput } from './support/flink-savepoints.ts';
import { ROOT, runFlink } from './support/run-flink.ts';
import { tempDirForFile } from './support/temp-dir.ts';

const temp = tempDirForFile('tsflink-flink-');
const golden = (file: string): string => readFileSync(join(ROOT, 'fixtures', 'golden', 'flink', file), 'utf8');

/** A private copy of a Flink snapshot, to damage. */
function copyOf(name: string): string {
  const dir = temp.next(name);
  cpSync(flinkSnapshotDir(name), dir, { recursive: true });
  return dir;
}

describe('flink inspect and diff of Apache Flink snapshots', () => {
  it('finds the snapshots in ../shared/flink-savepoints', () => {
    expect(statSync(FLINK_SAVEPOINTS, { throwIfNoEntry: false })?.isDirectory(), `${FLINK_SAVEPOINTS} is missing: these tests need it beside the checkout`).toBe(true);
  });

  it.each(FLINK_GOLDENS.map((g) => [g.file, g] as const))('%s', async (_file, g) => {
    for (const a of g.args) if (a.startsWith('@')) flinkSnapshotDir(a.slice(1)); // fails, saying where it looked, when missing
    const result = await runFlink(flinkArgs(g.args));
    expect(result.stderr).toBe('');
    expect(result.code).toBe(g.exitCode);
    expect(normaliseFlinkOutput(result.stdout)).toBe(golden(g.file));
  });

  it('refuses metadata version 1 (Flink 1.2) with Flink\'s own message, exit 2', async () => {
    flinkSnapshotDir(SNAPSHOTS.v1);
    const result = await runFlink(['inspect', `../shared/flink-savepoints/${SNAPSHOTS.v1}`]);
    expect(result.stdout).toBe('');
    expect(normaliseFlinkOutput(result.stderr)).toBe(
      `<flink-savepoints>/${SNAPSHOTS.v1}/_metadata at offset 4: metadata version 1: This savepoint / checkpoint version (Flink 1.1 / 1.2) is no longer supported.\n`,
    );
    expect(result.code).toBe(2);
  });

  it('names the offset where a truncated _metadata ends, exit 2', async () => {
    const dir = copyOf(SNAPSHOTS.hashmap120);
    truncateSync(join(dir, '_metadata'), 1000);
    const result = await runFlink(['inspect', dir]);
    expect(result.stderr).toMatch(new RegExp(`^${dir}/_metadata at offset \\d+: truncated: .* needs \\d+ bytes? but the file ends at offset 1000\\n$`));
    expect(result.code).toBe(2);
  });

  it('reports a state file that is missing and one of another size, exit 1', async () => {
    const dir = copyOf(SNAPSHOTS.hashmap120);
    unlinkSync(join(dir, 'c290cc2a-18a6-4c3e-9817-2538321c2d81'));
    writeFileSync(join(dir, 'a5294c44-13d7-40ea-883a-58e9fd971ad2'), 'short');
    const result = await runFlink(['inspect', dir]);
    expect(result.code).toBe(1);
    expect(result.stderr).toBe("2 file(s) beside _metadata are missing or have another size than recorded (see 'where'); Flink cannot restore this snapshot as it is.\n");
    expect(result.stdout).toContain('files:             20 beside _metadata, 2 missing or of another size');
    expect(result.stdout).toContain(`missing: ${dir}/c290cc2a-18a6-4c3e-9817-2538321c2d81 (recorded 770 bytes)`);
    expect(result.stdout).toContain(`size 5 on disk: ${dir}/a5294c44-13d7-40ea-883a-58e9fd971ad2 (recorded 282 bytes)`);
    const json = JSON.parse((await runFlink(['inspect', dir, '--json'])).stdout);
    expect(json.files).toEqual({ relative: 20, absolute: 0, problems: 2 });
  });

  it('narrows to one operator by uid or id, and refuses what reads entries', async () => {
    flinkSnapshotDir(SNAPSHOTS.rocks20);
    const path = `../shared/flink-savepoints/${SNAPSHOTS.rocks20}`;
    const byUid = JSON.parse((await runFlink(['inspect', path, '--operator', 'CheckpointingSource1', '--json'])).stdout);
    expect(byUid.operators.map((o: { id: string }) => o.id)).toEqual(['69f32d314b97c6f7f9ed7873983167f2']);
    const byId = JSON.parse((await runFlink(['inspect', path, '--operator', '06d8049845c382d79d17d43c9ef349f7', '--json'])).stdout);
    expect(byId.operators.map((o: { name: string }) => o.name)).toEqual(['Sink: Unnamed']);
    const wrong = await runFlink(['inspect', path, '--operator', 'nope']);
    expect([wrong.code, wrong.stderr.split(' (')[0]]).toEqual([2, `no operator 'nope' in ${FLINK_SAVEPOINTS}/${SNAPSHOTS.rocks20}`]);
    for (const flag of [['--entries'], ['--keys'], ['--key', '"a"'], ['--state', 's'], ['--limit', '3']]) {
      const refused = await runFlink(['inspect', path, ...flag]);
      expect(refused.code, flag[0]).toBe(2);
      expect(refused.stderr, flag[0]).toBe(`${flag[0]} reads state entries of tsflink snapshots; this is an Apache Flink snapshot, whose state files are not read: leave out ${flag[0]} (--operator and --uid work)\n`);
    }
    const entries = await runFlink(['diff', path, path, '--entries']);
    expect([entries.code, entries.stderr]).toEqual([2, "--entries compares state entries of tsflink snapshots; Apache Flink's state files are not read: leave out --entries\n"]);
    const uid = await runFlink(['inspect', 'fixtures/savepoints/v1/all-kinds', '--uid', 'x']);
    expect([uid.code, uid.stderr]).toEqual([2, '--uid names operators of Apache Flink snapshots, which do not all store uids; this tsflink snapshot stores them: leave out --uid\n']);
  });

  it('verify says a Flink snapshot is not one it checks, exit 2', async () => {
    flinkSnapshotDir(SNAPSHOTS.hashmap120);
    const result = await runFlink(['verify', `../shared/flink-savepoints/${SNAPSHOTS.hashmap120}`]);
    expect(normaliseFlinkOutput(result.stderr)).toBe(
      `<flink-savepoints>/${SNAPSHOTS.hashmap120}/_metadata at offset 0: an Apache Flink _metadata: tsflink restores and verifies its own snapshots only ('flink inspect' and 'flink diff' read this one)\n`,
    );
    expect(result.code).toBe(2);
  });

  it('a Flink snapshot and itself are equal, exit 0', async () => {
    const path = `../shared/flink-savepoints/${SNAPSHOTS.hashmap115}`;
    flinkSnapshotDir(SNAPSHOTS.hashmap115);
    const result = await runFlink(['diff', path, path]);
    expect([result.code, result.stdout.trim().split('\n').at(-1)]).toEqual([0, 'Snapshots hold the same operators and states.']);
  });

  it('diff matches a tsflink port of a Flink job to the Flink savepoint by operator id', async () => {
    flinkSnapshotDir(SNAPSHOTS.hashmap120);
    const dir = temp.next('port');
    mkdirSync(dir, { recursive: true });
    const source = (uid: string, mode: 'split' | 'union') => ({ uid, parallelism: 1, maxParallelism: 4, operatorStates: [{ name: 'source-state', kind: 'list' as const, mode, partitions: [[1, 2, 3, 4]] }] });
    const process = (uid: string, parallelism: number, names: string[]) => ({
      uid,
      parallelism,
      maxParallelism: 4,
      keyedStates: [{ name: 'state', kind: 'value' as const, entries: [['k', 1] as const] }],
      operatorStates: names.map((name) => ({ name, kind: 'broadcast' as const, mode: 'broadcast' as const, partitions: Array.from({ length: parallelism }, () => [['rule', 1]]) })),
    });
    await writeSnapshot(new LocalObjectStore(dir), {
      info: { kind: 'savepoint', jobId: '0'.repeat(32), jobName: 'port', checkpointId: 1 },
      operators: [
        source('CheckpointingSource1', 'split'),
        source('CheckpointingSource2', 'union'),
        source('BrCheckpointingSource1', 'split'),
        source('BrCheckpointingSource2', 'union'),
        process('BrProcess1', 4, ['broadcast-state-1', 'broadcast-state-2']),
        process('BrProcess2', 2, ['broadcast-state-3', 'extra']),
      ],
    });
    const result = await runFlink(['diff', `../shared/flink-savepoints/${SNAPSHOTS.hashmap120}`, dir, '--json']);
    expect(result.code).toBe(1);
    const diff = JSON.parse(result.stdout);
    expect(diff.operators).toEqual([
      { id: '56a26c4c54bda3adf3700194db4afe93', uid: 'BrProcess2', status: 'changed', changes: [{ field: 'parallelism', a: 4, b: 2 }], states: [{ name: 'extra', status: 'added', mode: 'broadcast', changes: [] }] },
      { id: '1193727a1a9000f62a57b95f97a0f7c9', uid: null, status: 'removed', changes: [], states: [] },
      { id: '6a5da2ed9f898786a971ec9eb755e20b', uid: null, status: 'removed', changes: [], states: [] },
    ]);
  });
});
