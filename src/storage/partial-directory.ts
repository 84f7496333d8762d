/**
 * A local directory written whole in a hidden sibling, `.<name>.partial-<pid>`, and renamed to
 * `<name>` once complete: a process killed midway (SIGKILL, a crash, a full disk) leaves nothing
 * under the name it was given, so a retry into the same name is not refused, and what it does
 * leave is named so that nobody takes it for a snapshot. Used by `flink rekey`, whose target is a
 * directory the user names; the engine's own snapshot directories publish `_metadata` last instead.
 */
import { readdir, rename, rm, stat } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import { UserError } from '../errors.ts';
import { processRunning } from '../process-running.ts';
import { fsyncDirectory } from './local-store.ts';

const MARKER = '.partial-';

/** Where `target` is written before it is moved into place, by process `pid`. */
export function partialSiblingOf(target: string, pid: number = process.pid): string {
  return join(dirname(target), `.${basename(target)}${MARKER}${pid}`);
}

/** Partial siblings of `target` whose writing process is no longer running: leftovers of interrupted runs. */
export async function leftoverPartials(target: string): Promise<string[]> {
  const prefix = `.${basename(target)}${MARKER}`;
  const names = await readdir(dirname(target)).catch(() => [] as string[]);
  return names
    .filter((name) => name.startsWith(prefix) && /^\d+$/.test(name.slice(prefix.length)))
    .filter((name) => !processRunning(Number(name.slice(prefix.length))))
    .map((name) => join(dirname(target), name))
    .sort();
}

/**
 * Renames the complete `partial` to `target`, durably (the parent directory fsync'd). Refuses,
 * removing `partial`, when `target` came to exist meanwhile: `describe` says so in one line.
 * (rename(2) would replace an empty directory there; it never replaces one with content.)
 */
export async function moveIntoPlace(partial: string, target: string, describe: () => string): Promise<void> {
  const taken = async (): Promise<never> => {
    await rm(partial, { recursive: true, force: true });
    throw new UserError(describe());
  };
  if (await stat(target).then(() => true, (err: NodeJS.ErrnoException) => err.code !== 'ENOENT')) return taken();
  try {
    await rename(partial, target);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'ENOTEMPTY' || code === 'EEXIST' || code === 'ENOTDIR') return taken();
    throw err;
  }
  await fsyncDirectory(dirname(target));
}

