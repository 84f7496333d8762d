/**
 * Damaging a checkpoint on disk the way storage goes wrong: a flipped byte or a truncated data
 * file. Used by the chaos suite before a JobManager restart and by the recovery tests.
 */
import { readFileSync, readdirSync, statSync, truncateSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

/** Completed checkpoints (those with a _metadata) under a job's checkpoint directory, newest first. */
export function checkpointsOnDisk(jobCheckpointDir: string): { id: number; dir: string }[] {
  let names: string[];
  try {
    names = readdirSync(jobCheckpointDir);
  } catch {
    return [];
  }
  return names
    .map((name) => ({ name, match: /^chk-(\d+)$/.exec(name) }))
    .filter((c) => c.match !== null && hasMetadata(join(jobCheckpointDir, c.name)))
    .map((c) => ({ id: Number(c.match![1]), dir: join(jobCheckpointDir, c.name) }))
    .sort((a, b) => b.id - a.id);
}

/** A running JobManager may delete a subsumed checkpoint between the listing and this look. */
function hasMetadata(checkpointDir: string): boolean {
  try {
    return readdirSync(checkpointDir).includes('_metadata');
  } catch {
    return false;
  }
}

/** The largest data file of a checkpoint (not its _metadata). */
export function largestDataFile(checkpointDir: string): string {
  const files: string[] = [];
  const walk = (d: string): void => {
    for (const entry of readdirSync(d, { withFileTypes: true })) {
      const path = join(d, entry.name);
      if (entry.isDirectory()) walk(path);
      else if (entry.name !== '_metadata') files.push(path);
    }
  };
  walk(checkpointDir);
  const largest = files.sort((a, b) => statSync(b).size - statSync(a).size)[0];
  if (largest === undefined) throw new Error(`no data file in ${checkpointDir}`);
  return largest;
}

export function flipByte(file: string, fraction = 0.6): void {
  const bytes = readFileSync(file);
  const at = Math.min(bytes.length - 1, Math.floor(bytes.length * fraction));
  bytes[at] = (bytes[at] ?? 0) ^ 0xff;
  writeFileSync(file, bytes);
}

export function truncateToHalf(file: string): void {
  truncateSync(file, Math.floor(statSync(file).size / 2));
}

/**
 * Flips a byte in (odd seed) or truncates (even seed) the newest checkpoint's largest file; returns it.
 * `skip`: checkpoints recovery already found damaged (their directories stay on disk).
 */
export function damageNewestCheckpoint(jobCheckpointDir: string, seed: number, skip: ReadonlySet<number> = new Set()): string | undefined {
  const newest = checkpointsOnDisk(jobCheckpointDir).filter((c) => !skip.has(c.id))[0];
  if (newest === undefined) return undefined;
  const file = largestDataFile(newest.dir);
  if (seed % 2 === 1) flipByte(file);
  else truncateToHalf(file);
  return file;
}
