/**
 * `flink rekey` through the real binary: the committed fixtures rekeyed from max parallelism
 * 128 (and 256, 512) to 256 and to 64 print exactly the golden output, verify, hold the same keys
 * and values (`diff --entries`), and every refusal is one line with exit 2.
 */
import { type ChildProcess, execFileSync, spawn } from 'node:child_process';
import { constants } from 'node:fs';
import { mkdir, open, readFile, readdir, rm, writeFile } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { operatorIdFromUid, toHex } from '../src/format/murmur3.ts';
import { writeSnapshot } from '../src/format/write-snapshot.ts';
import { LocalObjectStore } from '../src/storage/local-store.ts';
import { ROOT, runFlink } from './support/run-flink.ts';
import { smallSnapshot } from './support/small-snapshot.ts';
import { tempDirForFile } from './support/temp-dir.ts';

const dirs = tempDirForFile('tsflink-rekey-cli-');
const ALL_KINDS = join('fixtures', 'savepoints', 'v1', 'all-kinds');
const CHECKPOINT = join('fixtures', 'savepoints', 'v1', 'checkpoint-p3');
const TTL = join('fixtures', 'savepoints', 'v2', 'ttl-states');

const golden = (file: string): Promise<string> => readFile(join(ROOT, 'fixtures', 'golden', 'rekey', file), 'utf8');
/** Golden files name the target `<target>`; `durations` are the only other volatile field. */
const normalise = (text: string, target: string): string => text.replaceAll(target, '<target>').replaceAll(ROOT, '<root>');

async function rekeyed(source: string, maxParallelism: number): Promise<{ target: string; stdout: string }> {
  const target = dirs.next('rekeyed');
  const result = await runFlink(['rekey', source, target, '--max-parallelism', String(maxParallelism)]);
  expect(result.stderr).toBe('');
  expect(result.code).toBe(0);
  return { target, stdout: normalise(result.stdout, target) };
}

describe('flink rekey', () => {
  it.each([
    [ALL_KINDS, 'all-kinds', 256],
    [ALL_KINDS, 'all-kinds', 64],
    [CHECKPOINT, 'checkpoint-p3', 64],
    [TTL, 'ttl-states', 256],
  ])('rekeys %s (%s) to %i: golden output, inspect and diff --entries, and it verifies', async (source, name, maxParallelism) => {
    const { target, stdout } = await rekeyed(source, maxParallelism);
    const inspect = await runFlink(['inspect', target]);
    const diff = await runFlink(['diff', '--entries', source, target]);
    const verify = await runFlink(['verify', target]);
    expect(verify.code).toBe(0);
    expect(verify.stdout).toMatch(/^OK /);
    // diff exits 1: max parallelism differs by design (and block bytes, with the number of key
    // groups); every key and value is the same, which its last line states as 0 states differing.
    expect(diff.code).toBe(1);
    expect(diff.stdout).toMatch(/; entries differ in 0 state\(s\)\.\n$/);
    const text = [`$ flink rekey ${source} <target> --max-parallelism ${maxParallelism}`, stdout, '$ flink inspect <target>', normalise(inspect.stdout, target), `$ flink diff --entries ${source} <target>`, normalise(diff.stdout, target)].join('\n');
    expect(text).toBe(await golden(`${name}-to-${maxParallelism}.txt`));
  });

  it('prints one JSON document with --json', async () => {
    const target = dirs.next('json');
    const result = await runFlink(['rekey', CHECKPOINT, target, '--max-parallelism', '64', '--json']);
    expect(result.code).toBe(0);
    expect(result.stderr).toBe('');
    expect(normalise(result.stdout, target)).toBe(await golden('checkpoint-p3-to-64.json'));
  });

  it('refuses in one line with exit 2, writing nothing', async () => {
    const existing = dirs.next('existing');
    await mkdir(existing);
    const cases: [string[], string][] = [
      [[ALL_KINDS, existing, '--max-parallelism', '64'], `${existing}: already exists; rekey never overwrites: give a new target directory`],
      [[ALL_KINDS, dirs.next('low'), '--max-parallelism', '1'], "operator 'source' was written at parallelism 2, more than max parallelism 1 allows; give --max-parallelism 2 or more"],
      [[CHECKPOINT, dirs.next('low'), '--max-parallelism', '2'], "operator 'totals' was written at parallelism 3, more than max parallelism 2 allows; give --max-parallelism 3 or more"],
      [[ALL_KINDS, dirs.next('high'), '--max-parallelism', '32769'], '--max-parallelism must be an integer from 1 to 32768, got 32769'],
      [[ALL_KINDS, dirs.next('zero'), '--max-parallelism', '0'], '--max-parallelism must be an integer from 1 to 32768, got 0'],
      [[join('fixtures', 'nothing-here'), dirs.next('none'), '--max-parallelism', '64'], 'fixtures/nothing-here: no such file or directory'],
      [[ALL_KINDS, dirs.next('memory'), '--max-parallelism', '64', '--memory', '1k'], "error: option '--memory <size>' argument '1k' is invalid. expected a size of at least 16k, e.g. 64m or 2g."],
    ];
    for (const [args, message] of cases) {
      const result = await runFlink(['rekey', ...args]);
      expect(result.stderr.split('\n')[0], args.join(' ')).toBe(message);
      expect(result.code, args.join(' ')).toBe(2);
      expect(result.stdout).toBe('');
    }
    const missing = await runFlink(['rekey', ALL_KINDS, dirs.next('missing')]);
    expect(missing.stderr).toMatch(/^error: required option '--max-parallelism <n>' not specified\n/);
    expect(missing.code).toBe(2);
    expect(await readdir(existing)).toEqual([]);
  });

  it('spills to TMPDIR under a small --memory and gives the same savepoint', async () => {
    const tmp = dirs.next('tmp');
    await mkdir(tmp);
    const small = dirs.next('small');
    const large = dirs.next('large');
    const spilled = await runFlink(['rekey', CHECKPOINT, small, '--max-parallelism', '256', '--memory', '16k', '--json'], { env: { TMPDIR: tmp } });
    expect(spilled.code).toBe(0);
    expect(JSON.parse(spilled.stdout).spilledBytes).toBeGreaterThan(0);
    expect((await readdir(tmp)).filter((n) => n.startsWith('tsflink-rekey-'))).toEqual([]); // its spill directory is gone
    await runFlink(['rekey', CHECKPOINT, large, '--max-parallelism', '256', '--json']);
    const diff = await runFlink(['diff', '--entries', small, large]);
    expect(diff.stdout).toMatch(/Snapshots hold the same operators and states\.\n$/);
    expect(diff.code).toBe(0);
  });

  /**
   * A rekey held mid-way: the second operator's data file is a FIFO, and opening it blocks until
   * a writer comes, so once its first data file is written (in the partial directory beside the
   * target) the rekey is surely mid-way whatever the machine's speed.
   */
  async function heldRekey(): Promise<{ source: string; rulesFile: string; tmp: string; target: string; partial: string; child: ChildProcess; stderr: () => string; exited: Promise<number | null> }> {
    const source = dirs.next('fifo-source');
    await writeSnapshot(new LocalObjectStore(source), smallSnapshot());
    const rulesFile = (await readdir(source)).find((n) => n.startsWith(toHex(operatorIdFromUid('rules')).slice(0, 12)))!;
    await rm(join(source, rulesFile));
    execFileSync('mkfifo', [join(source, rulesFile)]);
    const tmp = dirs.next('fifo-tmp');
    await mkdir(tmp);
    const target = dirs.next('fifo-target');
    const child = spawn(process.execPath, [join(ROOT, 'bin', 'flink.js'), 'rekey', source, target, '--max-parallelism', '16'], { cwd: ROOT, env: { ...process.env, TMPDIR: tmp, NO_COLOR: '1' } });
    let stderr = '';
    child.stderr!.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
    const partial = join(dirname(target), `.${basename(target)}.partial-${child.pid}`);
    while (!(await readdir(partial).then((names) => names.some((n) => n.endsWith('.tsfs')), () => false))) {
      if (child.exitCode !== null) throw new Error(`rekey ended (${child.exitCode}) before writing its first data file: ${stderr}`);
      if (await readdir(target).then((names) => names.length > 0, () => false)) {
        child.kill('SIGKILL');
        throw new Error(`rekey writes into ${target} itself, not into a partial directory beside it`);
      }
      await new Promise((r) => setTimeout(r, 20));
    }
    return { source, rulesFile, tmp, target, partial, child, stderr: () => stderr, exited };
  }

  it('on Ctrl-C leaves neither spill runs nor a half-written target', async () => {
    const { source, rulesFile, tmp, target, partial, child, exited, ...held } = await heldRekey();
    expect(await readdir(target).catch((err: NodeJS.ErrnoException) => err.code)).toBe('ENOENT');
    child.kill('SIGINT');
    let stderr = held.stderr();
    while (!stderr.includes('\n')) {
      if (child.exitCode !== null) break;
      await new Promise((r) => setTimeout(r, 20));
      stderr = held.stderr();
    }
    while (!stderr.includes('\n')) {
      if (child.exitCode !== null) break;
      await new Promise((r) => setTimeout(r, 20));
    }
    // Its exit waits for the thread still blocked opening the FIFO: a writer releases it (opened
    // without blocking: ENXIO when no reader is left).
    await open(join(source, rulesFile), constants.O_WRONLY | constants.O_NONBLOCK).then(
      (handle) => handle.close(),
      (err: NodeJS.ErrnoException) => expect(err.code).toBe('ENXIO'),
    );
    expect(await exited).toBe(130);
    expect(held.stderr()).toBe('Interrupted; nothing was written.\n');
    expect(await readdir(target).catch((err: NodeJS.ErrnoException) => err.code)).toBe('ENOENT');
    expect(await readdir(partial).catch((err: NodeJS.ErrnoException) => err.code)).toBe('ENOENT');
    expect((await readdir(tmp)).filter((n) => n.startsWith('tsflink-rekey-'))).toEqual([]);
  });

  it('killed midway (SIGKILL) leaves nothing at the target: a retry into it writes the savepoint and names the partial directory left beside it', async () => {
    const { target, partial, child, exited } = await heldRekey();
    child.kill('SIGKILL');
    await exited;
    expect(await readdir(target).catch((err: NodeJS.ErrnoException) => err.code)).toBe('ENOENT');
    expect((await readdir(partial)).some((n) => n.endsWith('.tsfs'))).toBe(true);
    expect((await readdir(partial)).includes('_metadata')).toBe(false);

    const retry = await runFlink(['rekey', ALL_KINDS, target, '--max-parallelism', '64']);
    expect(retry.code, retry.stderr).toBe(0);
    expect(retry.stderr).toBe(`note: ${partial} was left by an earlier flink rekey into ${target} that was interrupted; nothing reads it: remove it (rm -r)\n`);
    expect(retry.stdout).toContain(`Savepoint completed and verified. Path: ${target}\n`);
    expect((await runFlink(['verify', target])).code).toBe(0);
  });

  it('refuses a target holding files but no _metadata as the unfinished output of an earlier run, in one line', async () => {
    // What an interrupted rekey into S3 leaves (or one into a local directory before rekey wrote through a partial directory).
    const target = dirs.next('unfinished');
    await mkdir(target);
    await writeFile(join(target, '7968152a5bbe-0-6e84c3d8df6c.tsfs'), 'x');
    const result = await runFlink(['rekey', ALL_KINDS, target, '--max-parallelism', '64']);
    expect([result.code, result.stdout]).toEqual([2, '']);
    expect(result.stderr).toBe(`${target}: already exists, holding files but no _metadata: the unfinished output of an earlier run that was interrupted (or another directory); rekey never overwrites: remove it or give a new target directory\n`);
  });
});
