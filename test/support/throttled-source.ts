import type { Source, SourceReader } from '../../src/engine/api/source.ts';

export interface ThrottleOptions {
  /** Records per second over all subtasks. */
  readonly recordsPerSecond: number;
  /**
   * Each reader stops after `after` records (counted from the start of the attempt) until `until()`
   * is true: a test that injects a failure mid-stream can wait for a checkpoint to complete first,
   * however slow checkpoints are on a loaded machine.
   */
  readonly hold?: { readonly after: number; readonly until: () => boolean };
}

/**
 * Wraps a source so it emits slowly, and optionally holds, without changing its splits: their
 * state is the wrapped source's, so a checkpoint restores the same way.
 */
export function throttled<T>(source: Source<T>, options: ThrottleOptions): Source<T> {
  return {
    bounded: source.bounded,
    createSplits: (parallelism) => source.createSplits(parallelism),
    createReader(context): SourceReader<T> {
      const inner = source.createReader(context);
      const perSubtask = options.recordsPerSecond / context.parallelism;
      let started = 0;
      let emitted = 0;
      return {
        addSplits: (splits) => inner.addSplits(splits),
        snapshotSplits: () => inner.snapshotSplits(),
        async poll(max) {
          if (started === 0) started = Date.now();
          let allowed = Math.floor(((Date.now() - started) / 1000) * perSubtask) - emitted;
          const { hold } = options;
          if (hold !== undefined && !hold.until()) allowed = Math.min(allowed, hold.after - emitted);
          if (allowed <= 0) {
            await new Promise((r) => setTimeout(r, 2));
            return { records: [], done: false };
          }
          const result = await inner.poll(Math.min(max, allowed));
          emitted += result.records.length;
          return result;
        },
      };
    },
  };
}
