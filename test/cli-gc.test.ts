/**
 * `flink gc` through the real binary, on checkpoints a real job wrote: one made abandoned (its
 * `_metadata` removed), one damaged (a data file truncated), a shared file no checkpoint
 * references, a savepoint in the directory. Golden output of --dry-run, the bytes it counts
 * against the files on disk, then the deletion itself and what remains.
 */
import { cp, mkdir, readFile, readdir, rm, stat, truncate, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { retainedCheckpoints } from './support/retained-checkpoints.ts';
import { ROOT, runFlink } from './support/run-flink.ts';
import { freePort } from './support/test-cluster.ts';
import { tempDir } from './support/temp-dir.ts';

let dir: Awaited<ReturnType<typeof tempDir>>;
let jobId: string;
/** A fresh copy of the prepared checkpoint directory, for each test that changes it. */
let prepared: string;
let noClusterPort: string;

beforeAll(async () => {
  dir = await tempDir('tsflink-gc-');
  noClusterPort = String(await freePort());
  prepared = join(dir.path, 'prepared');
  // Checkpoints 1..5 taken, the newest 4 retained: chk-2 .. chk-5.
  const made = await retainedCheckpoints(prepared, { checkpoints: 5, retain: 4 });
  jobId = made.jobId;
  const [chk2, chk3] = made.checkpoints;
  await rm(join(chk2!, '_metadata'));
  const data = (await readdir(chk3!)).filter((f) => f.endsWith('.tsfs')).sort()[0]!;
  await truncate(join(chk3!, data), 100);
  await mkdir(join(prepared, jobId, 'shared'));
  await writeFile(join(prepared, jobId, 'shared', 'orphan-0001'), 'no checkpoint references this');
  await mkdir(join(prepared, 'savepoint-abcdef-0123456789ab'));
  await writeFile(join(prepared, 'savepoint-abcdef-0123456789ab', '_metadata'), 'a savepoint someone keeps here');
}, 60_000);

afterAll(async () => {
  await dir.remove();
});

async function copyOf(name: string): Promise<string> {
  const target = join(dir.path, name);
  await cp(prepared, target, { recursive: true });
  return target;
}

/** Every file below `root` with its size, sorted. */
async function files(root: string): Promise<[string, number][]> {
  const names = (await readdir(root, { recursive: true })) as string[];
  const out: [string, number][] = [];
  for (const name of names) {
    const s = await stat(join(root, name));
    if (s.isFile()) out.push([name, s.size]);
  }
  return out.sort(([a], [b]) => (a < b ? -1 : 1));
}

const bytesOf = async (root: string, prefix: string): Promise<number> => (await files(root)).filter(([n]) => n.startsWith(prefix)).reduce((a, [, s]) => a + s, 0);

/** Volatile parts: the directory, the job id, data files' random names, byte figures (a _metadata records durations; --json's bytes are checked exactly). */
function normalise(text: string, root: string): string {
  return text
    .split(root)
    .join('<dir>')
    .split(jobId)
    .join('<job>')
    .replace(/\d+(\.\d)? (B|KiB|MiB)\b/g, '<bytes>')
    .replace(/-[0-9a-f]{12}\.tsfs\b/g, '-<random>.tsfs');
}

const golden = (name: string): Promise<string> => readFile(join(ROOT, 'fixtures', 'golden', 'gc', name), 'utf8');

describe('flink gc', () => {
  it('--dry-run: lists what it would delete and why, with the bytes, and deletes nothing', async () => {
    const root = await copyOf('dry-run');
    const before = await files(root);
    const result = await runFlink(['gc', '--dry-run', '--keep', '1', '-D', `rest.port=${noClusterPort}`, root]);
    expect(result.code, result.stderr).toBe(0);
    expect(result.stderr).toBe(`No cluster answers at http://127.0.0.1:${noClusterPort}: running jobs cannot be asked what they still need, so checkpoints are judged by their files alone.\n`);
    expect(normalise(result.stdout, root)).toBe(await golden('dry-run-keep-1.txt'));
    expect(await files(root)).toEqual(before);
  });

  it('--json: the bytes of each item are those of its files on disk', async () => {
    const root = await copyOf('json');
    const result = await runFlink(['gc', '--dry-run', '--json', '--keep', '1', '-D', `rest.port=${noClusterPort}`, root]);
    expect(result.code, result.stderr).toBe(0);
    const report = JSON.parse(result.stdout) as { dryRun: boolean; cluster: { answered: boolean }; items: { path: string; kind: string; action: string; bytes: number }[]; deletes: { checkpoints: number; sharedFiles: number; bytes: number } };
    expect(report.dryRun).toBe(true);
    expect(report.cluster.answered).toBe(false);
    for (const item of report.items) expect(item.bytes, item.path).toBe(await bytesOf(root, item.path));
    const deleted = report.items.filter((i) => i.action === 'delete');
    expect(deleted.map((i) => i.path)).toEqual([`${jobId}/chk-2`, `${jobId}/chk-3`, `${jobId}/chk-4`, `${jobId}/shared/orphan-0001`]);
    expect(report.deletes).toEqual({ checkpoints: 3, sharedFiles: 1, bytes: deleted.reduce((a, i) => a + i.bytes, 0) });
  });

  it('deletes them: what is kept is intact and verifies, the savepoint is untouched, and a second run finds nothing', async () => {
    const root = await copyOf('delete');
    const kept = (await files(root)).filter(([n]) => n.startsWith(`${jobId}/chk-5/`) || n.startsWith('savepoint-'));
    const result = await runFlink(['gc', '--keep', '1', '-D', `rest.port=${noClusterPort}`, root]);
    expect(result.code, result.stderr).toBe(0);
    expect(normalise(result.stdout, root)).toBe(await golden('delete-keep-1.txt'));
    expect(await files(root)).toEqual(kept);
    expect(await readdir(join(root, jobId))).toEqual(['chk-5']);
    const verified = await runFlink(['verify', join(root, jobId, 'chk-5')]);
    expect(verified.code, verified.stdout).toBe(0);
    const again = await runFlink(['gc', '--keep', '1', '-D', `rest.port=${noClusterPort}`, root]);
    expect(again.code, again.stderr).toBe(0);
    expect(normalise(again.stdout, root)).toBe(await golden('again-keep-1.txt'));
  });

  it('without --keep or --older-than, retained checkpoints stay; --older-than 1 d keeps these new ones too', async () => {
    const root = await copyOf('no-retention');
    for (const flags of [[], ['--older-than', '1 d']]) {
      const result = await runFlink(['gc', '--dry-run', '--json', ...flags, '-D', `rest.port=${noClusterPort}`, root]);
      expect(result.code, result.stderr).toBe(0);
      const report = JSON.parse(result.stdout) as { items: { path: string; action: string }[] };
      expect(report.items.filter((i) => i.action === 'delete').map((i) => i.path)).toEqual([`${jobId}/chk-2`, `${jobId}/chk-3`, `${jobId}/shared/orphan-0001`]);
    }
    const old = await runFlink(['gc', '--dry-run', '--json', '--older-than', '0 ms', '-D', `rest.port=${noClusterPort}`, root]);
    expect((JSON.parse(old.stdout) as { deletes: { checkpoints: number } }).deletes.checkpoints).toBe(4);
  });

  it('-m names a JobManager that does not answer: refused in one line (exit 1), nothing deleted', async () => {
    const root = await copyOf('dead-m');
    const before = await files(root);
    const result = await runFlink(['gc', '--keep', '0', '-m', `127.0.0.1:${noClusterPort}`, root]);
    expect(result.code).toBe(1);
    expect(result.stdout).toBe('');
    expect(result.stderr).toMatch(new RegExp(`^Could not connect to the JobManager at http://127\\.0\\.0\\.1:${noClusterPort}: no cluster answers there\\. [^\\n]*\n$`));
    expect(await files(root)).toEqual(before);
  });

  it('refuses a duration that is not one, and a directory that does not exist, in one line (exit 2)', async () => {
    const bad = await runFlink(['gc', '--older-than', 'yesterday', '-D', `rest.port=${noClusterPort}`, prepared]);
    expect(bad.code).toBe(2);
    expect(bad.stderr).toBe("--older-than 'yesterday' is not a duration: use a whole number with an optional unit (ms, s, min, h, d), e.g. 500 ms, 10 s, 1 min, 2 h.\n");
    const missing = await runFlink(['gc', '-D', `rest.port=${noClusterPort}`, join(dir.path, 'nope')]);
    expect(missing.code).toBe(2);
    expect(missing.stderr).toBe(`${join(dir.path, 'nope')}: no such directory\n`);
  });
});
