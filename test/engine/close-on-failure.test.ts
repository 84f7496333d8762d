/**
 * Every attempt closes its user functions, also the one that failed (Flink calls close() in all
 * cases and finish() only at the end of input), so connections and handles a function opened in
 * open() do not outlive its attempt.
 */
import { expect, it } from 'vitest';
import type { MapFunction } from '../../src/engine/api/functions.ts';
import { DataGeneratorSource, PrintSink, StreamExecutionEnvironment } from '../../src/index.ts';

it('the failed attempt closes every subtask of every operator, as the successful one does', async () => {
  const events: string[] = [];
  const tracked = (name: string, failAt?: number): MapFunction<number, number> & { attempt: number; subtask: number; seen: number } => ({
    attempt: 0,
    subtask: 0,
    seen: 0,
    open(ctx) {
      this.attempt = ctx.attemptNumber;
      this.subtask = ctx.subtaskIndex;
      events.push(`open ${name} ${this.subtask} attempt ${this.attempt}`);
    },
    map(value) {
      this.seen += 1;
      if (failAt !== undefined && this.attempt === 0 && this.subtask === 0 && this.seen === failAt) throw new Error('injected');
      return value;
    },
    close() {
      events.push(`close ${name} ${this.subtask} attempt ${this.attempt}`);
    },
  });
  const env = StreamExecutionEnvironment.getExecutionEnvironment().setParallelism(2).setRestartStrategy({ type: 'fixed-delay', attempts: 1, delayMs: 0 });
  env
    .fromSource(new DataGeneratorSource({ count: 2_000, seed: 1, generate: (i) => i }), 'numbers')
    .uid('numbers')
    .map(tracked('failing', 300))
    .uid('failing')
    .rebalance()
    .map(tracked('downstream'))
    .uid('downstream')
    .sinkTo(new PrintSink<number>({ out: { write: () => true } }));
  const result = await env.execute('close on failure');
  expect(result.attempts).toBe(2);
  const expected = ['failing', 'downstream'].flatMap((name) => [0, 1].flatMap((s) => [0, 1].flatMap((a) => [`open ${name} ${s} attempt ${a}`, `close ${name} ${s} attempt ${a}`])));
  expect([...events].sort()).toEqual(expected.sort());
});
