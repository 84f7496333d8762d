/** PrintSink: Flink's print() prefixes (`<subtask+1>> ` in parallel, `<id>:` with an identifier). */
import { describe, expect, it } from 'vitest';
import { StreamExecutionEnvironment } from '../../../src/engine/api/environment.ts';
import { PrintSink, printPrefix } from '../../../src/engine/connectors/print-sink.ts';

async function print(parallelism: number, options: { identifier?: string } = {}): Promise<string[]> {
  const written: string[] = [];
  const env = StreamExecutionEnvironment.getExecutionEnvironment().setParallelism(parallelism);
  env
    .fromElements<unknown>('a', 'b', { n: 1 }, 7)
    .rebalance()
    // An object: each subtask gets its own copy of it, as sinkTo documents.
    .sinkTo(new PrintSink<unknown>({ ...options, out: { write: (chunk: string) => written.push(chunk) } }));
  await env.execute('print');
  return written;
}

describe('PrintSink', () => {
  it('prints one line per record without a prefix at parallelism 1', async () => {
    expect((await print(1)).sort()).toEqual(['7\n', 'a\n', 'b\n', '{"n":1}\n']);
  });

  it('prefixes the subtask number at parallelism 2, after an identifier if given', async () => {
    const lines = await print(2);
    expect(lines.every((l) => /^[12]> /.test(l))).toBe(true);
    expect(lines.map((l) => l.slice(3)).sort()).toEqual(['7\n', 'a\n', 'b\n', '{"n":1}\n']);
    expect((await print(2, { identifier: 'out' })).every((l) => /^out:[12]> /.test(l))).toBe(true);
  });

  it('follows Flink for every combination of identifier and parallelism', () => {
    expect(printPrefix('', 0, 1)).toBe('');
    expect(printPrefix('', 2, 4)).toBe('3> ');
    expect(printPrefix('id', 0, 1)).toBe('id> ');
    expect(printPrefix('id', 1, 2)).toBe('id:2> ');
  });

  it('writes to stdout by default', async () => {
    const written: string[] = [];
    const original = process.stdout.write.bind(process.stdout);
    process.stdout.write = ((chunk: string) => written.push(chunk) > 0) as typeof process.stdout.write;
    try {
      const env = StreamExecutionEnvironment.getExecutionEnvironment();
      env.fromElements('hello').sinkTo(() => new PrintSink<string>());
      await env.execute('print to stdout');
    } finally {
      process.stdout.write = original;
    }
    expect(written).toContain('hello\n');
  });
});
