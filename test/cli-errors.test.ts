/**
 * Bad input through the real binary: each case is one line on stderr that names the thing, exit
 * code 2, no stack trace, nothing on stdout.
 */
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { delimiter, join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { crc32 } from '../src/format/crc32.ts';
import { decodeMetadata } from '../src/format/metadata-readers.ts';
import { encodeMetadataV1 } from '../src/format/v1/encode-metadata.ts';
import { writeSnapshot } from '../src/format/write-snapshot.ts';
import { LocalObjectStore } from '../src/storage/local-store.ts';
import { runFlink } from './support/run-flink.ts';
import { smallSnapshot } from './support/small-snapshot.ts';
import { tempDir } from './support/temp-dir.ts';

let dir: Awaited<ReturnType<typeof tempDir>>;
let good: string;

beforeAll(async () => {
  dir = await tempDir();
  good = join(dir.path, 'good');
  await writeSnapshot(new LocalObjectStore(good), smallSnapshot());
});
afterAll(async () => {
  await dir.remove();
});

/** A copy of the good snapshot whose `_metadata` went through `edit` (header CRC kept valid). */
async function variant(name: string, edit: (bytes: Buffer) => Buffer): Promise<string> {
  const target = join(dir.path, name);
  await mkdir(target, { recursive: true });
  const store = new LocalObjectStore(good);
  for await (const { key } of store.list('')) await writeFile(join(target, key), await store.get(key));
  const bytes = edit(Buffer.from(await readFile(join(good, '_metadata'))));
  await writeFile(join(target, '_metadata'), bytes);
  return target;
}

function resealHeader(bytes: Buffer): Buffer {
  bytes.writeUInt32BE(crc32(bytes.subarray(0, 20)), 20);
  return bytes;
}

async function expectOneLineError(args: string[], pattern: RegExp, code = 2): Promise<void> {
  const result = await runFlink(args);
  expect(result.stdout).toBe('');
  expect(result.stderr).toMatch(pattern);
  expect(result.stderr.trim().split('\n')).toHaveLength(1);
  expect(result.stderr).not.toMatch(/\n\s+at /);
  expect(result.code).toBe(code);
}

describe('bad input', () => {
  it('missing path', async () => {
    await expectOneLineError(['inspect', join(dir.path, 'nope')], /nope: no such file or directory$/m);
  });

  it('empty directory', async () => {
    const empty = join(dir.path, 'empty');
    await mkdir(empty);
    await expectOneLineError(['inspect', empty], /empty: not a snapshot \(no _metadata/);
  });

  it("a job's checkpoint directory, a checkpoint directory and a directory of savepoints name the snapshot to give instead", async () => {
    const root = join(dir.path, 'checkpoints');
    const job = join(root, 'aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa');
    // chk-12 and chk-9 are complete, chk-13 unfinished (no _metadata), shared/ holds files: the newest is chk-12, not chk-13 or chk-9 (compared as numbers).
    for (const id of [9, 12]) await writeSnapshot(new LocalObjectStore(join(job, `chk-${id}`)), smallSnapshot());
    await mkdir(join(job, 'chk-13'));
    await writeFile(join(job, 'chk-13', 'part-0.tsfs'), 'x');
    await mkdir(join(job, 'shared'));
    await writeFile(join(job, 'shared', 'a.tsfs'), 'x');
    const one = async (path: string): Promise<string> => {
      const result = await runFlink(['inspect', path]);
      expect({ code: result.code, stdout: result.stdout, lines: result.stderr.trim().split('\n').length }).toEqual({ code: 2, stdout: '', lines: 1 });
      return result.stderr.trim();
    };
    expect(await one(job)).toBe(`${job}: not a snapshot (no _metadata) but a job's checkpoint directory; its newest checkpoint is ${join(job, 'chk-12')} (give that)`);
    expect(await one(root)).toBe(`${root}: not a snapshot (no _metadata) but a checkpoint directory; its newest checkpoint is ${join(job, 'chk-12')} (give that)`);
    const savepoints = join(dir.path, 'savepoints');
    await writeSnapshot(new LocalObjectStore(join(savepoints, 'savepoint-aaaaaa-1')), smallSnapshot());
    expect(await one(savepoints)).toBe(`${savepoints}: not a snapshot (no _metadata) but a directory holding one snapshot, ${join(savepoints, 'savepoint-aaaaaa-1')} (give that)`);
  });

  it('a file that is not a snapshot', async () => {
    const file = join(dir.path, 'notes.txt');
    await writeFile(file, 'hello');
    await expectOneLineError(['inspect', file], /notes\.txt: not a snapshot \(give the snapshot directory or its _metadata file\)/);
    const fake = join(dir.path, 'fake');
    await mkdir(fake);
    await writeFile(join(fake, '_metadata'), '{"not": "ours"}');
    await expectOneLineError(['inspect', join(fake, '_metadata')], /fake\/_metadata at offset 0: not a tsflink _metadata file/);
  });

  it('unknown format version', async () => {
    const path = await variant('v99', (b) => {
      b.writeUInt16BE(99, 8);
      return resealHeader(b);
    });
    await expectOneLineError(['inspect', path], /unsupported format version 99; this tsflink reads versions 1, 2, 3 \(written by a newer tsflink: upgrade to read it\)/);
    await expectOneLineError(['verify', path], /unsupported format version 99/);
  });

  it('unknown required feature', async () => {
    const path = await variant('feature', (b) => {
      b.writeUInt32BE(0x4, 12);
      return resealHeader(b);
    });
    await expectOneLineError(['inspect', path], /at offset 12: unknown required features 0x00000004: written by a newer tsflink; upgrade to read it/);
  });

  it('path traversal in a data file path', async () => {
    const path = await variant('traversal', (b) => {
      const meta = decodeMetadata(b, '_metadata');
      const files = meta.files.map((f, i) => (i === 0 ? { ...f, path: `../${f.path}` } : f));
      return encodeMetadataV1({ ...meta, files });
    });
    await expectOneLineError(['inspect', path], /section 'FILE': files\[0\]\.path: path '\.\.\/.*' escapes the snapshot directory/);
  });

  it('usage errors', async () => {
    const none = await runFlink(['inspect']);
    expect(none.code).toBe(2);
    expect(none.stderr).toMatch(/missing required argument 'path'/);
    await expectOneLineError(['inspect', good, '--key', 'user-1'], /--key 'user-1' is not valid JSON \(a string key needs quotes: --key '"user-1"'\)/);
    await expectOneLineError(['inspect', good, '--entries', '--keys'], /choose one of --entries, --keys and --key/);
    await expectOneLineError(['inspect', good, '--key', '{"$bytes":"!!"}'], /^--key '\{"\$bytes":"!!"\}': "!!" is not base64: /m);
    await expectOneLineError(['inspect', good, '--key', '{"$bigint":"abc"}'], /^--key '\{"\$bigint":"abc"\}': "abc" is not a whole number: /m);
    await expectOneLineError(['inspect', good, '--key', '{"$date":"nope"}'], /^--key '\{"\$date":"nope"\}': "nope" is not an ISO-8601 time: /m);
    await expectOneLineError(['inspect', good, '--operator', 'nope'], /no operator 'nope' in .* \(operators: counts, rules\)/);
    await expectOneLineError(['inspect', 'hdfs://x/y'], /unsupported file system "hdfs"/);
  });

  it('--limit without what it limits', async () => {
    const inspectLimit = /^--limit caps the lines of --entries or --keys: add one of them, or leave out --limit$/m;
    await expectOneLineError(['inspect', good, '--limit', '2'], inspectLimit);
    await expectOneLineError(['inspect', good, '--key', '"a"', '--limit', '1'], inspectLimit);
    await expectOneLineError(['diff', good, good, '--limit', '1'], /^--limit caps the changed keys listed per state, which only --entries compares: add --entries, or leave out --limit$/m);
    const entries = await runFlink(['inspect', good, '--entries', '--limit', '2']);
    expect([entries.code, entries.stdout.trim().split('\n').length]).toEqual([0, 2]);
    expect((await runFlink(['diff', good, good, '--entries', '--limit', '1'])).code).toBe(0);
  });

  it('prints a stack trace only with --verbose', async () => {
    const result = await runFlink(['inspect', join(dir.path, 'nope'), '--verbose']);
    expect(result.code).toBe(2);
    expect(result.stderr).toMatch(/no such file or directory\n.*UserError/s);
  });

  it("a job's own -v and --verbose, after the job file, are its arguments: no stack trace; before it they are the CLI's", async () => {
    // Fails while it builds, in the client: no cluster is needed to see what is printed.
    const job = join(dir.path, 'throws.mts');
    await writeFile(job, "export default (): void => {\n  throw new Error('boom in build');\n};\n");
    const line = `Job file ${job} threw while building the job: boom in build (${job}:2:9)`;
    for (const flag of ['-v', '--verbose']) {
      const own = await runFlink(['run', job, flag]);
      expect(own.stderr).toBe(`${line}\n`);
      expect(own.code).toBe(1);
      const cli = await runFlink(['run', flag, job]);
      expect(cli.stderr).toMatch(/\n\s+at /);
      expect(cli.code).toBe(1);
    }
  });

  it("a job's own --version, after the job file, is its argument: tsflink's version (and its commit, from git) is not looked up", async () => {
    // A git first on PATH that notes each call: the commit is looked up with git only for tsflink's own --version.
    const bin = join(dir.path, 'fake-git-bin');
    const calls = join(dir.path, 'git-calls');
    await mkdir(bin, { recursive: true });
    await writeFile(join(bin, 'git'), `#!/bin/sh\necho "$@" >> '${calls}'\nexit 1\n`, { mode: 0o755 });
    const env = { PATH: `${bin}${delimiter}${process.env.PATH ?? ''}` };
    const job = join(dir.path, 'shows-args.mts');
    await writeFile(job, "export default (_env: unknown, args: string[]): void => {\n  throw new Error(`args ${JSON.stringify(args)}`);\n};\n");
    for (const action of ['run', 'info']) {
      expect(await runFlink([action, job, '--version'], { env })).toEqual({
        code: 1,
        stdout: '',
        stderr: `Job file ${job} threw while building the job: args ["--version"] (${job}:2:9)\n`,
      });
    }
    await expect(readFile(calls, 'utf8')).rejects.toThrow(/ENOENT/);
    // The fake git is the one asked, so its silence above means something.
    expect(await runFlink(['--version'], { env })).toEqual({ code: 0, stdout: 'Version: 0.1.0, Commit ID: DeadD0d0\n', stderr: '' });
    expect(await readFile(calls, 'utf8')).toContain('rev-parse');
  });

  it("--verbose on a job that throws while it builds shows the user's stack, at the job file, after tsflink's", async () => {
    const job = join(dir.path, 'throws-too.mts');
    await writeFile(job, "export default (): void => {\n  throw new Error('boom in build');\n};\n");
    const result = await runFlink(['run', '--verbose', job]);
    expect(result.code).toBe(1);
    expect(result.stderr).toContain(`\nCaused by: Error: boom in build\n    at default (${job}:2:9)\n`);
  });
});
