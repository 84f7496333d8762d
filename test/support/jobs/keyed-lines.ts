/** What the keyed-lines job (keyed-lines-job.ts) must commit, and the settings its slot tests run it with. */
import { join } from 'node:path';

export const KEYED_LINES_JOB = join(import.meta.dirname, 'keyed-lines-job.ts');

/** `k n` for n = 1..records/keys of every key, sorted. */
export function expectedKeyedLines(records: number, keys: number): string[] {
  const lines: string[] = [];
  for (let k = 0; k < keys; k++) for (let n = 1; n <= records / keys; n++) lines.push(`k${k} ${n}`);
  return lines.sort();
}

/** Checkpoints every 50 ms into `checkpointDir`; up to 3 restarts without delay. */
export function keyedLinesConfig(checkpointDir: string): Map<string, string> {
  return new Map([
    ['execution.checkpointing.interval', '50ms'],
    ['execution.checkpointing.dir', checkpointDir],
    ['restart-strategy.type', 'fixed-delay'],
    ['restart-strategy.fixed-delay.attempts', '3'],
    ['restart-strategy.fixed-delay.delay', '0 ms'],
  ]);
}
