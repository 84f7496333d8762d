/**
 * Local recovery with incremental checkpoints, the pure part: which of a subtask's local copies of
 * shared files may go once checkpoint n is confirmed (Flink's TaskLocalStateStore keeps the files
 * of the latest confirmed checkpoint and drops the rest). A copy stays while something may still
 * read it: the confirmed checkpoint's chains and its own file (a restore of n reads them), a newer
 * checkpoint acknowledged but not yet confirmed (it may complete and then be restored), and the
 * bases that writes still under way build on (their deltas refer to those files).
 */
import { checkpointOfSharedName } from './shared-paths.ts';

export interface PruneInput {
  /** Root-relative paths (`<jobId>/shared/<name>`) of the copies found in the job's local shared directory. */
  readonly copies: readonly string[];
  /** `<jobId>/shared/`: only copies there are ever considered (never another job's). */
  readonly dir: string;
  /** What starts the names of this subtask's shared files (`sharedFileOwner`): never another subtask's. */
  readonly owner: string;
  readonly confirmedId: number;
  /** Files referred to, by checkpoint id: each acknowledged checkpoint's own file and the shared files its chains refer to. */
  readonly refs: ReadonlyMap<number, ReadonlySet<string>>;
  /** Files the bases of writes under way refer to. */
  readonly inFlight: Iterable<ReadonlySet<string>>;
}

/**
 * The copies to delete, in the order given. None when the subtask does not know what the
 * confirmed checkpoint refers to (it did not write it, say it restored from it): a guess could
 * delete a copy still needed, and the next confirmed checkpoint prunes instead.
 */
export function sharedCopiesToPrune(input: PruneInput): string[] {
  const latest = input.refs.get(input.confirmedId);
  if (latest === undefined) return [];
  const keep = new Set(latest);
  for (const [id, files] of input.refs) if (id > input.confirmedId) for (const f of files) keep.add(f);
  for (const files of input.inFlight) for (const f of files) keep.add(f);
  return input.copies.filter((path) => {
    const id = checkpointOfOwnCopy(path, input.dir, input.owner);
    // A newer checkpoint's file may belong to a write under way or a checkpoint still pending.
    return id !== undefined && id <= input.confirmedId && !keep.has(path);
  });
}

/** The checkpoint that wrote `path`, when it is one of `owner`'s shared files directly in `dir`; else undefined. */
export function checkpointOfOwnCopy(path: string, dir: string, owner: string): number | undefined {
  if (!path.startsWith(dir)) return undefined;
  const name = path.slice(dir.length);
  return name.includes('/') ? undefined : checkpointOfSharedName(name, owner);
}
