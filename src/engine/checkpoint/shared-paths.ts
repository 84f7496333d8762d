/**
 * Names of incremental checkpoints' shared files, relative to the checkpoint root (FORMAT.md
 * 3.4): a job's go into `<jobId>/shared/` (as Flink's), each named after the subtask, the
 * checkpoint and the attempt that wrote it, so the coordinator can find the files of an aborted
 * checkpoint that were written but never acknowledged.
 */

/** `<jobId>/shared/`. */
export function sharedDir(jobId: string): string {
  return `${jobId}/shared/`;
}

/** What every shared file a subtask writes for checkpoint `id` has in its name, followed by the attempt. */
export function sharedFileMarker(id: number): string {
  return `-chk${id}-a`;
}
