/**
 * Local recovery with incremental checkpoints, one subtask's side: its shared files are teed to
 * local copies at `<local root>/<jobId>/shared/<name>` (local-copy-tee.ts, size + CRC-32 record
 * beside each), and this keeps track of what its checkpoints refer to, so that on each confirmed
 * checkpoint the copies nothing may read any more are deleted (shared-copy-pruning.ts decides).
 * The job's whole local directory goes when the job ends (the coordinator's deleteLocalJob).
 * Pruning is best effort and serialized; a failure is logged and retried by the next one.
 */
import { readdir, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { type LogLine, RECORD_SUFFIX, message, stderrLog } from '../../storage/local-copy-tee.ts';
import { sharedCopiesToPrune } from './shared-copy-pruning.ts';
import { sharedDir } from './shared-paths.ts';

export class LocalSharedCopies {
  /** `<jobId>/shared/`, as `_metadata` names shared files relative to the checkpoint root. */
  readonly dir: string;
  readonly #refs = new Map<number, Set<string>>();
  readonly #inFlight = new Map<number, Set<string>>();
  #pruning: Promise<void> = Promise.resolve();

  constructor(
    /** The local root: a copy of `<jobId>/shared/<name>` lies at `<localRoot>/<jobId>/shared/<name>`. */
    readonly localRoot: string,
    jobId: string,
    /** `sharedFileOwner(head uid, subtask index)`: the only copies this subtask ever deletes. */
    readonly owner: string,
    readonly log: LogLine = stderrLog,
  ) {
    this.dir = sharedDir(jobId);
  }

  /** A write for `checkpointId` builds on a base referring to `files`: they stay until it is written or failed. */
  building(checkpointId: number, files: Iterable<string>): void {
    let set = this.#inFlight.get(checkpointId);
    if (set === undefined) this.#inFlight.set(checkpointId, (set = new Set()));
    for (const f of files) set.add(f);
  }

  /** `checkpointId` was acknowledged: its own file and what its chains refer to. */
  written(checkpointId: number, files: Iterable<string>): void {
    this.#refs.set(checkpointId, new Set(files));
    this.#inFlight.delete(checkpointId);
  }

  /** The write for `checkpointId` failed: nothing refers to its file. */
  failed(checkpointId: number): void {
    this.#inFlight.delete(checkpointId);
  }

  aborted(checkpointId: number): void {
    this.#refs.delete(checkpointId);
  }

  /** `checkpointId` completed: delete the copies no longer needed. Resolves when this prune (and those before it) ran; never rejects. */
  confirmed(checkpointId: number): Promise<void> {
    this.#pruning = this.#pruning.then(() => this.#prune(checkpointId)).catch((err: unknown) => {
      this.log(`local recovery: pruning the local copies of shared files in ${join(this.localRoot, this.dir)} failed (${message(err)}); the next checkpoint tries again`);
    });
    return this.#pruning;
  }

  async #prune(confirmedId: number): Promise<void> {
    const local = join(this.localRoot, this.dir);
    let names: string[];
    try {
      names = await readdir(local);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return; // nothing copied yet
      throw err;
    }
    // Only copies with a record: one without is being written (or was never finished) and is never read.
    const copies = names.filter((n) => n.endsWith(RECORD_SUFFIX)).map((n) => `${this.dir}${n.slice(0, -RECORD_SUFFIX.length)}`);
    // Decided after the listing, so a write that began meanwhile has registered its base.
    const doomed = sharedCopiesToPrune({ copies, dir: this.dir, owner: this.owner, confirmedId, refs: this.#refs, inFlight: this.#inFlight.values() });
    if (this.#refs.has(confirmedId)) for (const id of [...this.#refs.keys()]) if (id < confirmedId) this.#refs.delete(id);
    for (const path of doomed) {
      // The record first: a copy without one is never trusted, whatever happens next.
      await rm(join(this.localRoot, `${path}${RECORD_SUFFIX}`), { force: true });
      await rm(join(this.localRoot, path), { force: true });
    }
  }
}
