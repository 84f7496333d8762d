/**
 * Every single damaged byte and every truncation of a small savepoint is detected, by `verify` and
 * by the reader, with a FormatError naming the damaged file; none reads back as different data.
 */
import { readFile, readdir, truncate, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { FormatError } from '../src/errors.ts';
import { verifySnapshot } from '../src/format/verify-snapshot.ts';
import { writeSnapshot } from '../src/format/write-snapshot.ts';
import { LocalObjectStore } from '../src/storage/local-store.ts';
import { readEverything } from './support/read-everything.ts';
import { smallSnapshot } from './support/small-snapshot.ts';
import { tempDir } from './support/temp-dir.ts';

let dir: Awaited<ReturnType<typeof tempDir>>;
let store: LocalObjectStore;
let files: { name: string; bytes: Buffer }[];

beforeAll(async () => {
  dir = await tempDir();
  store = new LocalObjectStore(dir.path);
  await writeSnapshot(store, smallSnapshot());
  const names = (await readdir(dir.path)).sort();
  files = await Promise.all(names.map(async (name) => ({ name, bytes: await readFile(join(dir.path, name)) })));
});
afterAll(async () => {
  await dir.remove();
});

/** Asserts that the damaged snapshot is refused by both checkers, naming `name`. */
async function expectDetected(name: string, what: string): Promise<void> {
  const report = await verifySnapshot(store);
  if (report.valid) throw new Error(`verify missed ${what}`);
  expect(report.problems.some((p) => p.file.endsWith(name)), `${what}: verify names ${name}: ${JSON.stringify(report.problems)}`).toBe(true);
  let error: unknown;
  try {
    await readEverything(store);
  } catch (err) {
    error = err;
  }
  if (!(error instanceof FormatError)) throw new Error(`reader missed ${what}: ${String(error)}`);
  expect(error.file.endsWith(name), `${what}: reader names ${name}, said ${error.message}`).toBe(true);
}

describe('corruption of a small savepoint', () => {
  it('starts valid', async () => {
    expect((await verifySnapshot(store)).valid).toBe(true);
    expect(files.length).toBeGreaterThanOrEqual(3);
    expect(files.reduce((n, f) => n + f.bytes.length, 0)).toBeLessThan(8192);
  });

  it('detects every flipped byte of every file', async () => {
    let cases = 0;
    for (const { name, bytes } of files) {
      const path = join(dir.path, name);
      for (let i = 0; i < bytes.length; i++) {
        const damaged = Buffer.from(bytes);
        damaged[i] = damaged[i]! ^ 0xff;
        await writeFile(path, damaged);
        await expectDetected(name, `byte ${i} of ${name} flipped`);
        cases += 1;
      }
      await writeFile(path, bytes);
    }
    expect(cases).toBe(files.reduce((n, f) => n + f.bytes.length, 0));
    expect((await verifySnapshot(store)).valid).toBe(true);
  });

  it('detects every truncation of every file', async () => {
    for (const { name, bytes } of files) {
      const path = join(dir.path, name);
      for (let length = 0; length < bytes.length; length++) {
        await writeFile(path, bytes);
        await truncate(path, length);
        await expectDetected(name, `${name} truncated to ${length} bytes`);
      }
      await writeFile(path, bytes);
    }
    expect((await verifySnapshot(store)).valid).toBe(true);
  });
});
