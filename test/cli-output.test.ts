/**
 * The CLI in-process through `main()`: colour only on a terminal and never with NO_COLOR, data on
 * stdout and messages on stderr, and `verify` reporting problems with file and offset.
 */
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { main } from '../src/cli.ts';
import { writeSnapshot } from '../src/format/write-snapshot.ts';
import type { CliContext } from '../src/output/context.ts';
import { LocalObjectStore } from '../src/storage/local-store.ts';
import { smallSnapshot } from './support/small-snapshot.ts';
import { tempDir } from './support/temp-dir.ts';

let dir: Awaited<ReturnType<typeof tempDir>>;
let snapshot: string;

beforeAll(async () => {
  dir = await tempDir();
  snapshot = join(dir.path, 'sp');
  await writeSnapshot(new LocalObjectStore(snapshot), smallSnapshot());
});
afterAll(async () => {
  await dir.remove();
});

async function run(args: string[], options: { tty?: boolean; env?: Record<string, string> } = {}): Promise<{ code: number; out: string; err: string }> {
  let out = '';
  let err = '';
  const ctx: CliContext = {
    stdout: { write: (t) => void (out += t), isTTY: options.tty ?? false },
    stderr: { write: (t) => void (err += t), isTTY: options.tty ?? false },
    env: options.env ?? {},
  };
  const code = await main(args, ctx);
  return { code, out, err };
}

const ANSI = /\u001b\[/;

describe('output', () => {
  it('colours only on a terminal', async () => {
    expect((await run(['inspect', snapshot], { tty: true })).out).toMatch(ANSI);
    expect((await run(['inspect', snapshot], { tty: false })).out).not.toMatch(ANSI);
  });

  it('never colours when NO_COLOR is set', async () => {
    expect((await run(['inspect', snapshot], { tty: true, env: { NO_COLOR: '1' } })).out).not.toMatch(ANSI);
  });

  it('warns about unknown -D keys on stderr and keeps stdout for data', async () => {
    const result = await run(['inspect', snapshot, '--json', '-D', 'no.such.key=1']);
    expect(result.err).toBe("Warning: unknown configuration key 'no.such.key' is ignored.\n");
    expect(JSON.parse(result.out).jobName).toBe('small');
  });

  it('verify lists each problem with file and offset, exit 1', async () => {
    const copy = join(dir.path, 'damaged');
    const store = new LocalObjectStore(snapshot);
    const target = new LocalObjectStore(copy);
    for await (const { key } of store.list('')) await target.publish(key, await store.get(key));
    const data = (await readdirKeys(target)).find((k) => k.endsWith('.tsfs'))!;
    const bytes = Buffer.from(await readFile(join(copy, data)));
    bytes[bytes.length - 1] = bytes[bytes.length - 1]! ^ 0x01;
    await writeFile(join(copy, data), bytes);
    const result = await run(['verify', copy]);
    expect(result.code).toBe(1);
    expect(result.out).toMatch(new RegExp(`^CORRUPT ${copy}/${data.replace('.', '\\.')} at offset \\d+: frame checksum mismatch\\n1 problem\\(s\\) in ${copy}; checked`));
    const json = JSON.parse((await run(['verify', copy, '--json'])).out);
    expect(json.valid).toBe(false);
    expect(json.problems).toHaveLength(1);
    expect(json.problems[0].file).toBe(join(copy, data));
  });

  it('--help and --version exit 0', async () => {
    expect((await run(['--help'])).code).toBe(0);
    const version = await run(['--version']);
    // Flink's line; the commit of this checkout, or Flink's placeholder outside one.
    expect(version.out).toMatch(/^Version: 0\.1\.0, Commit ID: (?:[0-9a-f]{7,}|DeadD0d0)\n$/);
    expect(version.code).toBe(0);
  });
});

async function readdirKeys(store: LocalObjectStore): Promise<string[]> {
  const keys: string[] = [];
  for await (const { key } of store.list('')) keys.push(key);
  return keys;
}
