import { existsSync } from 'node:fs';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { tempDir } from '../../test/support/temp-dir.ts';
import { makeDirectories, makeDirectoriesSync } from './make-directories.ts';

let dir: Awaited<ReturnType<typeof tempDir>>;
beforeAll(async () => {
  dir = await tempDir();
});
afterAll(async () => {
  await dir.remove();
});

describe.each([
  ['async', makeDirectories],
  ['sync', async (path: string) => makeDirectoriesSync(path)],
])('makeDirectories (%s)', (_kind, make) => {
  it('creates missing parents and returns the first one it created', async () => {
    const base = join(dir.path, `${_kind}-a`);
    expect(await make(join(base, 'b', 'c'))).toBe(base);
    expect(existsSync(join(base, 'b', 'c'))).toBe(true);
    expect(await make(join(base, 'b', 'c'))).toBeUndefined();
    expect(await make(join(base, 'b', 'd'))).toBe(join(base, 'b', 'd'));
  });

  // Node's recursive mkdir never returns here (and spins a core): the JobManager hung on
  // `flink savepoint <id> /proc/sp`.
  it('fails at once under a directory that refuses new entries', async () => {
    await expect(make('/proc/tsflink-sp/x')).rejects.toMatchObject({ code: 'ENOENT' });
    await expect(make('/proc/tsflink-sp')).rejects.toMatchObject({ code: 'ENOENT' });
  });

  it('says ENOTDIR under a file and EEXIST for a file', async () => {
    const file = join(dir.path, `${_kind}-file`);
    await writeFile(file, 'x');
    await expect(make(join(file, 'sub'))).rejects.toMatchObject({ code: 'ENOTDIR' });
    await expect(make(file)).rejects.toMatchObject({ code: 'EEXIST' });
  });
});
