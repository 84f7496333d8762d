import { afterAll, beforeAll } from 'vitest';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

/** A fresh temporary directory and its removal, for tests that touch disk. */
export async function tempDir(prefix = 'tsflink-test-'): Promise<{ path: string; remove: () => Promise<void> }> {
  const path = await mkdtemp(join(tmpdir(), prefix));
  return { path, remove: () => rm(path, { recursive: true, force: true }) };
}

/**
 * One temporary directory for a whole test file, made before its tests and removed after them;
 * `next()` names a fresh subdirectory in it.
 */
export function tempDirForFile(prefix = 'tsflink-test-'): { next: (name?: string) => string } {
  let root: Awaited<ReturnType<typeof tempDir>> | undefined;
  let counter = 0;
  beforeAll(async () => {
    root = await tempDir(prefix);
  });
  afterAll(async () => {
    await root?.remove();
  });
  return {
    next: (name = 's') => {
      if (root === undefined) throw new Error('tempDirForFile: next() called outside a test');
      return join(root.path, `${name}${counter++}`);
    },
  };
}

/** One temporary directory for a whole test file, made before its tests and removed after them. */
export function tempRootForFile(prefix = 'tsflink-test-'): { readonly path: string } {
  let root: Awaited<ReturnType<typeof tempDir>> | undefined;
  beforeAll(async () => {
    root = await tempDir(prefix);
  });
  afterAll(async () => {
    await root?.remove();
  });
  return {
    get path(): string {
      if (root === undefined) throw new Error('tempRootForFile: path read outside a test');
      return root.path;
    },
  };
}
