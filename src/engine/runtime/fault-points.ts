/**
 * Named places where the chaos suite kills a worker precisely: while a checkpoint is being
 * written, while a sink commits, while a restored sink finishes its transactions. A time-based
 * SIGKILL from outside would almost never land inside these short windows, and they are where
 * exactly-once is most fragile.
 *
 * Armed only through the TSFLINK_FAULT_FILE environment variable: a file whose content names one
 * point. The first process that reaches that point removes the file (so one arming kills once)
 * and SIGKILLs itself. Without the variable, which is always the case outside the chaos suite, a
 * fault point costs one comparison; the points sit on per-checkpoint paths, never per record.
 */
import { readFileSync, unlinkSync } from 'node:fs';

export const FAULT_POINTS = ['snapshot-data', 'snapshot-metadata', 'sink-commit', 'sink-restore'] as const;
export type FaultPointName = (typeof FAULT_POINTS)[number];

export const FAULT_FILE_ENV = 'TSFLINK_FAULT_FILE';

const armedFile = process.env[FAULT_FILE_ENV];

export function faultPoint(name: FaultPointName): void {
  if (armedFile === undefined || armedFile === '') return;
  let armed: string;
  try {
    armed = readFileSync(armedFile, 'utf8').trim();
  } catch {
    return; // not armed
  }
  if (armed !== name) return;
  try {
    unlinkSync(armedFile);
  } catch {
    return; // another subtask's hit claimed it first
  }
  process.kill(process.pid, 'SIGKILL');
}
