import type { Source, SourceRecord } from '../../src/engine/api/source.ts';

/**
 * A one-subtask source the test feeds by hand: `push` hands it records, `end` ends the input.
 * It is not replayable (its split state is empty), so it serves semantic tests at parallelism 1
 * that move a ManualClock between records, never restores.
 */
export class PushedSource<T> implements Source<T> {
  readonly bounded = true;
  readonly #queue: SourceRecord<T>[] = [];
  #ended = false;

  push(...values: T[]): void {
    for (const value of values) this.#queue.push({ value, timestamp: null });
  }

  end(): void {
    this.#ended = true;
  }

  createSplits(): unknown[] {
    return [0];
  }

  createReader() {
    return {
      addSplits: () => undefined,
      snapshotSplits: () => [0],
      poll: async (max: number) => {
        if (this.#queue.length === 0) {
          await new Promise((r) => setTimeout(r, 2));
          return { records: [], done: this.#ended };
        }
        return { records: this.#queue.splice(0, max), done: false };
      },
    };
  }
}

/** Waits (polling every 5 ms, up to 30 s) until `done()`; fails naming `what` if it never is. */
export async function until(what: string, done: () => boolean): Promise<void> {
  for (let i = 0; i < 6000; i++) {
    if (done()) return;
    await new Promise((r) => setTimeout(r, 5));
  }
  throw new Error(`timed out waiting for ${what}`);
}
