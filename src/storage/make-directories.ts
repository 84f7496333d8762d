/**
 * `mkdir -p` that always ends. Node's own `mkdir(path, { recursive: true })` (async and sync) loops
 * forever, at full CPU, when a parent exists but refuses new entries with ENOENT, as `/proc` and
 * `/sys` do: it takes ENOENT as "the parent is missing", finds the parent, and tries again. Here
 * a second ENOENT after the parent is known to exist is the answer.
 */
import { mkdirSync, statSync } from 'node:fs';
import { mkdir, stat } from 'node:fs/promises';
import { dirname, resolve } from 'node:path';

/** Creates `path` and its missing parents; returns the first directory created (as Node's recursive mkdir), if any. */
export async function makeDirectories(path: string): Promise<string | undefined> {
  const dir = resolve(path);
  try {
    await mkdir(dir);
    return dir;
  } catch (err) {
    const code = errnoCode(err);
    if (code === 'EEXIST' && (await isDirectory(dir))) return undefined;
    const parent = dirname(dir);
    if (code !== 'ENOENT' || parent === dir) throw err;
    const first = await makeDirectories(parent);
    try {
      await mkdir(dir);
    } catch (again) {
      if (errnoCode(again) === 'EEXIST' && (await isDirectory(dir))) return first;
      throw again;
    }
    return first ?? dir;
  }
}

export function makeDirectoriesSync(path: string): string | undefined {
  const dir = resolve(path);
  try {
    mkdirSync(dir);
    return dir;
  } catch (err) {
    const code = errnoCode(err);
    if (code === 'EEXIST' && isDirectorySync(dir)) return undefined;
    const parent = dirname(dir);
    if (code !== 'ENOENT' || parent === dir) throw err;
    const first = makeDirectoriesSync(parent);
    try {
      mkdirSync(dir);
    } catch (again) {
      if (errnoCode(again) === 'EEXIST' && isDirectorySync(dir)) return first;
      throw again;
    }
    return first ?? dir;
  }
}

async function isDirectory(path: string): Promise<boolean> {
  return (await stat(path).catch(() => undefined))?.isDirectory() === true;
}

function isDirectorySync(path: string): boolean {
  try {
    return statSync(path).isDirectory();
  } catch {
    return false;
  }
}

function errnoCode(err: unknown): string | undefined {
  return (err as NodeJS.ErrnoException | undefined)?.code;
}
