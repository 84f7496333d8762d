/**
 * Which shared state files (incremental checkpoints, `<jobId>/shared/`) may be deleted: Flink's
 * SharedStateRegistry, decisions only. The coordinator tells it what happens to checkpoints
 * (triggered, acknowledged, completed, aborted, subsumed) and carries out what it answers: paths
 * to delete (`SharedStateCleaner`), or a completion to refuse. No I/O, no clock.
 *
 * Files are named by their path relative to the checkpoint root (FORMAT.md 3.4, `shared: true`).
 * A file stays while a retained checkpoint refers to it. Once none does, it is queued, and held
 * until every checkpoint pending at that moment has ended: a pending checkpoint may refer to it,
 * and the coordinator learns that only when the checkpoint completes (which rescues the file).
 * Checkpoints triggered later are not waited for: when one of them refers to a file already
 * released, its completion is refused (the caller fails it; the next checkpoint builds on a newer
 * base). A referred file the registry does not know is taken as released, as Flink's registry
 * refuses a placeholder for an unknown key: every file a checkpoint may refer to was registered
 * when the checkpoint that wrote it completed, and forgotten only when released, so no list of
 * released files has to be kept for the life of the job.
 */
import { InternalError } from '../../errors.ts';
import type { CheckpointId } from './checkpoint-types.ts';

/** A shared file as a checkpoint's `_metadata` lists it (DataFileMeta with `shared: true` fits). */
export interface SharedFileRef {
  /** Relative to the checkpoint root, e.g. `<jobId>/shared/<name>`. */
  readonly path: string;
  readonly size: number;
  /** Written for this checkpoint; false: written by an earlier one and referred to. Absent: true. */
  readonly written?: boolean;
}

export type CompletionDecision =
  /** Registered as retained; `release` are now free to delete (the checkpoint no longer holds them). */
  | { readonly kind: 'completed'; readonly release: readonly string[] }
  /**
   * Not completed: it refers to `missing`, already released. It has ended as aborted; `release`
   * holds the files it wrote and what it no longer holds.
   */
  | { readonly kind: 'refused'; readonly missing: readonly string[]; readonly release: readonly string[] };

/** Bytes of a snapshot's files: REST `checkpointed_size` (written) and `state_size` (total). */
export interface SnapshotBytes {
  readonly written: number;
  readonly referred: number;
  readonly total: number;
}

/** Any snapshot's files (shared or not; absent `written` counts as written). */
export function snapshotBytes(files: readonly { readonly size: number; readonly written?: boolean }[]): SnapshotBytes {
  let written = 0;
  let referred = 0;
  for (const f of files) {
    if (f.written === false) referred += f.size;
    else written += f.size;
  }
  return { written, referred, total: written + referred };
}

/** A retained checkpoint as its `_metadata` says: for a claim or a rebuild. */
export interface RetainedReferences {
  readonly id: CheckpointId;
  readonly files: readonly SharedFileRef[];
}

export class SharedStateRegistry {
  /** Retained checkpoints and the shared files each refers to, by path. */
  readonly #retained = new Map<CheckpointId, ReadonlyMap<string, SharedFileRef>>();
  /** Per path: how many retained checkpoints refer to it (never 0: the entry goes). */
  readonly #refs = new Map<string, number>();
  /** Checkpoints triggered and not ended, with the files their acks said they wrote. */
  readonly #pending = new Map<CheckpointId, Set<string>>();
  /** Paths no retained checkpoint refers to, each with the pending checkpoints it waits for. */
  readonly #queued = new Map<string, Set<CheckpointId>>();
  /** The highest id triggered here: an ack above it is for a checkpoint this registry never saw start. */
  #highestTriggered = 0;

  /** After a JobManager restart: the retained checkpoints as their `_metadata` list them. */
  static rebuild(retained: readonly RetainedReferences[]): SharedStateRegistry {
    const registry = new SharedStateRegistry();
    for (const r of retained) registry.adopt(r.id, r.files);
    return registry;
  }

  /** A checkpoint was triggered: files unreferenced from now on wait for it to end. */
  trigger(id: CheckpointId): void {
    if (this.#retained.has(id)) throw new InternalError(`shared state: checkpoint ${id} triggered after it completed`);
    if (!this.#pending.has(id)) this.#pending.set(id, new Set());
    this.#highestTriggered = Math.max(this.#highestTriggered, id);
  }

  /**
   * A subtask acknowledged `id`: it wrote `written` and its chains refer to `referred`
   * (root-relative shared paths). While `id` is pending, what it wrote is remembered (deleted if
   * it aborts) and what it refers to is held (`reserve`). For a checkpoint that ended (an ack
   * after the abort) the answer is what to delete now: written files no retained checkpoint
   * refers to.
   */
  acknowledge(id: CheckpointId, written: readonly string[], referred: readonly string[] = []): string[] {
    const pending = this.#pending.get(id);
    if (pending !== undefined) {
      for (const path of written) pending.add(path);
      this.#hold(id, referred);
      return [];
    }
    // Not triggered yet as far as this registry knows (a caller that tells it late): the files
    // may become this checkpoint's, so they stay; at worst the next start finds them as orphans.
    if (id > this.#highestTriggered) return [];
    // A completed checkpoint's acks all came before its completion; a repeated one is harmless:
    // its files are referred to (kept), queued (held) or released (deleting again is idempotent).
    return this.#absent(written);
  }

  /**
   * Before `_metadata` of pending `id` is written: the files among `files` (its references) that
   * are gone, referred to and neither retained nor queued. The queued ones are held for `id`
   * from now on, so while it stays pending the answer cannot grow and `complete` with the same
   * files will not refuse. (A file queued before `id` was triggered is not held for it until
   * then: it may be released meanwhile.)
   */
  reserve(id: CheckpointId, files: readonly SharedFileRef[]): string[] {
    const referred = files.filter((f) => f.written === false).map((f) => f.path);
    if (this.#pending.has(id)) this.#hold(id, referred);
    return this.#absent(referred);
  }

  /** `_metadata` of `id` is written (or about to be): register its references, or refuse them. */
  complete(id: CheckpointId, files: readonly SharedFileRef[]): CompletionDecision {
    if (this.#retained.has(id)) throw new InternalError(`shared state: checkpoint ${id} completed twice`);
    const missing = this.#absent(files.filter((f) => f.written === false).map((f) => f.path));
    if (missing.length > 0) {
      const written = files.filter((f) => f.written !== false).map((f) => f.path);
      return { kind: 'refused', missing, release: this.#end(id, written) };
    }
    this.adopt(id, files);
    // Files its acks named and `_metadata` does not (nobody will ever refer to them) go too.
    return { kind: 'completed', release: this.#end(id, []) };
  }

  /** `id` failed, expired or was subsumed while pending: what it wrote goes, and what it held. */
  abort(id: CheckpointId): string[] {
    if (!this.#pending.has(id)) return [];
    return this.#end(id, []);
  }

  /**
   * Retained checkpoints leave (retention, or the job's end): files no longer referred to are
   * queued behind the checkpoints pending now; the answer is those free at once.
   */
  subsume(ids: readonly CheckpointId[]): string[] {
    const release: string[] = [];
    for (const id of ids) {
      const files = this.#retained.get(id);
      if (files === undefined) continue;
      this.#retained.delete(id);
      for (const path of files.keys()) {
        const count = (this.#refs.get(path) ?? 0) - 1;
        if (count > 0) {
          this.#refs.set(path, count);
          continue;
        }
        this.#refs.delete(path);
        if (this.#pending.size === 0) release.push(path);
        else this.#queued.set(path, new Set(this.#pending.keys()));
      }
    }
    return release.sort();
  }

  /**
   * Registers `id` as retained without checks: the checkpoint a `claim` restore starts from (its
   * files are then deleted once it is subsumed, like the job's own), or one of a rebuild.
   * Nothing happens when it is retained already (a restart of the same job).
   */
  adopt(id: CheckpointId, files: readonly SharedFileRef[]): void {
    if (this.#retained.has(id)) return;
    const byPath = new Map<string, SharedFileRef>();
    for (const f of files) if (!byPath.has(f.path)) byPath.set(f.path, f);
    this.#retained.set(id, byPath);
    for (const path of byPath.keys()) {
      this.#refs.set(path, (this.#refs.get(path) ?? 0) + 1);
      this.#queued.delete(path); // rescued: a retained checkpoint refers to it again
    }
  }

  /**
   * Orphans at start: of `listing` (the keys under `prefix`, `<jobId>/shared/`, listed before
   * any checkpoint was triggered), those no retained checkpoint refers to. Left from a
   * JobManager that died with checkpoints pending or files queued. Nothing while a checkpoint is
   * pending: its files are in the listing too and unknown to the registry until it completes.
   */
  orphans(listing: readonly { readonly key: string }[], prefix: string): string[] {
    if (this.#pending.size > 0) return [];
    return listing
      .map((o) => o.key)
      .filter((key) => key.startsWith(prefix) && key.length > prefix.length && !this.#present(key))
      .sort();
  }

  /** For REST and `inspect`: a retained checkpoint's shared files, written by it and referred to. */
  figures(id: CheckpointId): SnapshotBytes | undefined {
    const files = this.#retained.get(id);
    return files === undefined ? undefined : snapshotBytes([...files.values()]);
  }

  /** For logs and tests: what the registry holds now. */
  summary(): { readonly retained: readonly CheckpointId[]; readonly pending: readonly CheckpointId[]; readonly files: number; readonly bytes: number; readonly queued: number } {
    const sizes = new Map<string, number>();
    for (const files of this.#retained.values()) for (const f of files.values()) sizes.set(f.path, f.size);
    return {
      retained: [...this.#retained.keys()].sort((a, b) => a - b),
      pending: [...this.#pending.keys()].sort((a, b) => a - b),
      files: sizes.size,
      bytes: [...sizes.values()].reduce((a, b) => a + b, 0),
      queued: this.#queued.size,
    };
  }

  /** Queued files among `paths` wait for pending `id` too. */
  #hold(id: CheckpointId, paths: readonly string[]): void {
    for (const path of paths) this.#queued.get(path)?.add(id);
  }

  /** Whether a retained checkpoint refers to `path`, or it is queued and not yet released. */
  #present(path: string): boolean {
    return this.#refs.has(path) || this.#queued.has(path);
  }

  /** Of `paths`, those neither retained nor queued: gone, or (written ones) nobody's (queued ones wait their turn). */
  #absent(paths: Iterable<string>): string[] {
    return [...new Set(paths)].filter((p) => !this.#present(p)).sort();
  }

  /** `id` ended: its own unreferenced files (`written` and its acks') and the queued files it alone held go. */
  #end(id: CheckpointId, written: readonly string[]): string[] {
    const release = new Set(this.#absent([...written, ...(this.#pending.get(id) ?? [])]));
    this.#pending.delete(id);
    for (const [path, waiting] of this.#queued) {
      if (!waiting.delete(id) || waiting.size > 0) continue;
      this.#queued.delete(path);
      release.add(path);
    }
    return [...release].sort();
  }
}
