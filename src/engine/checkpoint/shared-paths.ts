/**
 * Names of incremental checkpoints' shared files, relative to the checkpoint root (FORMAT.md
 * 3.4): a job's go into `<jobId>/shared/` (as Flink's), each named after the subtask, the
 * checkpoint and the attempt that wrote it, so the coordinator can find the files of an aborted
 * checkpoint that were written but never acknowledged.
 */
import { operatorIdFromUid, toHex } from '../../format/murmur3.ts';

/** `<jobId>/shared/`. */
export function sharedDir(jobId: string): string {
  return `${jobId}/shared/`;
}

/** What every shared file a subtask writes for checkpoint `id` has in its name, followed by the attempt. */
export function sharedFileMarker(id: number): string {
  return `-chk${id}-a`;
}

/** What the names of the shared files written by subtask `subtask` of the chain headed by `headUid` start with (then `sharedFileMarker`). */
export function sharedFileOwner(headUid: string, subtask: number): string {
  return `${toHex(operatorIdFromUid(headUid)).slice(0, 12)}-${subtask}`;
}

/** The checkpoint id of a shared file's name that starts with `owner` and its marker; undefined for any other name. */
export function checkpointOfSharedName(name: string, owner: string): number | undefined {
  if (!name.startsWith(owner)) return undefined;
  const match = /^-chk(\d+)-a/.exec(name.slice(owner.length));
  return match === null ? undefined : Number(match[1]);
}

/** The checkpoint that wrote the shared file at root-relative `path` (a name `sharedFileMarker` marks), or undefined. */
export function checkpointOfSharedPath(path: string): number | undefined {
  const match = /-chk(\d+)-a\d+[^/]*$/.exec(path);
  return match === null ? undefined : Number(match[1]);
}
