/**
 * Deletes the shared state files the SharedStateRegistry released, from a store rooted at the
 * checkpoint root (the registry's paths are relative to it). A checkpoint's success never
 * depends on a delete: a failure is logged in one line and the file is tried again with the next
 * release (at the latest, a JobManager start finds it as an orphan). Deleting a missing file
 * succeeds (ObjectStore contract 4), so a file released twice is harmless.
 */
import type { ObjectStore } from '../../storage/object-store.ts';

/** Deletes at once per release: enough to overlap S3 round trips, few enough to stay polite. */
const PARALLEL_DELETES = 8;

/** `<jobId>/shared/<name...>`, no empty, `.` or `..` segment: nothing else is ever deleted here. */
export function isSharedStatePath(path: string): boolean {
  const segments = path.split('/');
  return segments.length >= 3 && segments[1] === 'shared' && segments.every((s) => s !== '' && s !== '.' && s !== '..') && !path.includes('\\');
}

export class SharedStateCleaner {
  /** Paths whose delete failed, tried again with the next release. */
  readonly #retry = new Set<string>();

  constructor(
    private readonly store: ObjectStore,
    private readonly log: (line: string) => void,
  ) {}

  /** Paths waiting for another try. */
  get failed(): readonly string[] {
    return [...this.#retry].sort();
  }

  /** Deletes `paths` and whatever failed before; resolves once every delete ended. Never rejects. */
  async release(paths: readonly string[]): Promise<void> {
    const batch = [...new Set([...this.#retry, ...paths])];
    this.#retry.clear();
    let next = 0;
    const worker = async (): Promise<void> => {
      while (next < batch.length) {
        const path = batch[next++]!;
        await this.#delete(path);
      }
    };
    await Promise.all(Array.from({ length: Math.min(PARALLEL_DELETES, batch.length) }, worker));
  }

  async #delete(path: string): Promise<void> {
    if (!isSharedStatePath(path)) {
      this.log(`shared state: refusing to delete ${JSON.stringify(path)}: not a file under <jobId>/shared/ of the checkpoint directory ${this.store.location}`);
      return;
    }
    try {
      await this.store.delete(path);
    } catch (err) {
      this.#retry.add(path);
      const where = this.#describe(path);
      const message = err instanceof Error ? err.message : String(err);
      // Store errors name the location already (ObjectStore contract 5); others get it here.
      this.log(`shared state: cannot delete ${message.includes(where) ? message : `${where}: ${message}`}; trying again with the next release`);
    }
  }

  #describe(path: string): string {
    try {
      return this.store.describe(path);
    } catch {
      return path;
    }
  }
}
