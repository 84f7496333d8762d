/**
 * FileSource: every line of every file exactly once, at any parallelism; a restore from any
 * split state continues at exactly the next line; directory monitoring picks up new files once,
 * also across a restore; a missing path is the user's error, named.
 */
import { mkdir, rename, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { StreamExecutionEnvironment } from '../../../src/engine/api/environment.ts';
import type { SourceReader } from '../../../src/engine/api/source.ts';
import { FileSource } from '../../../src/engine/connectors/file-source.ts';
import { mulberry32 } from '../../../src/engine/connectors/data-generator-source.ts';
import { UserError } from '../../../src/errors.ts';
import { tempDir } from '../../support/temp-dir.ts';

let dir: Awaited<ReturnType<typeof tempDir>>;
let input: string;
let expected: string[];

beforeAll(async () => {
  dir = await tempDir();
  input = join(dir.path, 'input');
  await mkdir(input);
  // A long file whose lines (with multi-byte characters) straddle the 128 KiB read chunks.
  const random = mulberry32(3);
  const long = Array.from({ length: 3000 }, (_, i) => `${i}:${'ä€𝄞x'.repeat(Math.floor(random() * 60))}`);
  const files: Record<string, { text: string; lines: string[] }> = {
    'a.txt': { text: 'alpha\nbeta\ngamma', lines: ['alpha', 'beta', 'gamma'] }, // no final newline
    'b.txt': { text: 'one\r\ntwo\r\n\r\nthree\r\n', lines: ['one', 'two', '', 'three'] }, // CRLF, an empty line
    'c.txt': { text: '', lines: [] }, // empty
    'd.txt': { text: `${long.join('\n')}\n`, lines: long },
    '.hidden': { text: 'never\n', lines: [] }, // in-progress files of writers are hidden
    '_SUCCESS': { text: 'never\n', lines: [] },
  };
  for (const [name, f] of Object.entries(files)) await writeFile(join(input, name), f.text);
  expected = Object.values(files).flatMap((f) => f.lines).sort();
});
afterAll(async () => {
  await dir.remove();
});

async function readAll(reader: SourceReader<string>, polls: number[] = [256]): Promise<string[]> {
  const lines: string[] = [];
  for (let i = 0; ; i++) {
    const { records, done } = await reader.poll(polls[i % polls.length]!);
    lines.push(...records.map((r) => r.value));
    if (done) return lines;
  }
}

describe('FileSource', () => {
  it.each([1, 3])('gives every line of a directory exactly once at parallelism %i', async (parallelism) => {
    const lines: string[] = [];
    const env = StreamExecutionEnvironment.getExecutionEnvironment().setParallelism(parallelism);
    env
      .fromSource(FileSource.forLines(input), 'lines')
      .uid('lines')
      .sinkTo(() => ({ invoke: (line: string) => void lines.push(line) }));
    await env.execute('read files');
    expect(lines.sort()).toEqual(expected);
  });

  it('reads a list of files in order, each once, at parallelism 1', async () => {
    const reader = FileSource.forLines([join(input, 'b.txt'), join(input, 'a.txt'), join(input, 'b.txt')]).createReader();
    reader.addSplits(FileSource.forLines([join(input, 'b.txt'), join(input, 'a.txt'), join(input, 'b.txt')]).createSplits());
    expect(await readAll(reader)).toEqual(['one', 'two', '', 'three', 'alpha', 'beta', 'gamma']);
  });

  it('continues at exactly the next line after a restore from any split state', async () => {
    const source = FileSource.forLines(input);
    const straight = source.createReader();
    straight.addSplits(source.createSplits());
    const all = await readAll(straight);
    await fc.assert(
      fc.asyncProperty(fc.array(fc.integer({ min: 1, max: 700 }), { minLength: 1, maxLength: 8 }), async (polls) => {
        const lines: string[] = [];
        let splits: unknown[] = source.createSplits();
        for (let i = 0; ; i++) {
          // A new reader from the last snapshot for every poll: the worst case of restores.
          const reader = source.createReader();
          reader.addSplits(JSON.parse(JSON.stringify(splits)) as unknown[]);
          const { records, done } = await reader.poll(polls[i % polls.length]!);
          lines.push(...records.map((r) => r.value));
          splits = reader.snapshotSplits();
          if (done) break;
        }
        expect(lines).toEqual(all);
      }),
      { numRuns: 15 },
    );
  });

  it('names a missing path as the user error, without restarting the job', async () => {
    const missing = join(dir.path, 'nope');
    expect(() => FileSource.forLines([input, missing]).createSplits()).toThrow(UserError);
    expect(() => FileSource.forLines(join(input, 'a.txt'), { monitorIntervalMs: 10 }).createSplits()).toThrow(/monitorIntervalMs watches directories/);
    const env = StreamExecutionEnvironment.getExecutionEnvironment().configureCheckpointing({ interval: 50, dir: join(dir.path, 'missing-checkpoints') });
    env.fromSource(FileSource.forLines(missing), 'lines').sinkTo(() => ({ invoke: () => undefined }));
    await expect(env.execute('missing input')).rejects.toThrow(`file source: no such file or directory: '${missing}'`);
  });
});

describe('FileSource directory monitoring', () => {
  /** Stages the file under a hidden name and renames it, as writers that others watch must. */
  async function publish(folder: string, name: string, lines: string[]): Promise<void> {
    await writeFile(join(folder, `.${name}.tmp`), `${lines.join('\n')}\n`);
    await rename(join(folder, `.${name}.tmp`), join(folder, name));
  }

  async function pollUntil(readers: SourceReader<string>[], count: number, into: string[], timeoutMs = 5000): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    while (into.length < count && Date.now() < deadline) {
      for (const r of readers) into.push(...(await r.poll(100)).records.map((x) => x.value));
    }
  }

  it('adds new files as splits, each read by exactly one subtask, and remembers them across a restore', async () => {
    const folder = join(dir.path, 'watched');
    await mkdir(folder);
    await publish(folder, 'start.txt', ['s1', 's2']);
    const source = FileSource.forLines(folder, { monitorIntervalMs: 5, monitorSplits: 4 });
    expect(source.bounded).toBe(false);
    const splits = source.createSplits();
    const readers = [0, 1].map((i) => {
      const r = source.createReader();
      r.addSplits(splits.filter((_, k) => k % 2 === i));
      return r;
    });
    const seen: string[] = [];
    await pollUntil(readers, 2, seen);
    const added = Array.from({ length: 12 }, (_, i) => `new-${i}.txt`);
    for (const name of added) await publish(folder, name, [`${name}:1`, `${name}:2`]);
    await pollUntil(readers, 2 + 24, seen);
    expect(seen.sort()).toEqual(['s1', 's2', ...added.flatMap((n) => [`${n}:1`, `${n}:2`])].sort());

    // Restored from their snapshots, the readers read only what is new since.
    const restored = readers.map((r) => {
      const next = source.createReader();
      next.addSplits(JSON.parse(JSON.stringify(r.snapshotSplits())) as unknown[]);
      return next;
    });
    const later: string[] = [];
    await pollUntil(restored, 1, later, 100); // several scans: nothing is new

    expect(later).toEqual([]);
    await publish(folder, 'late.txt', ['late']);
    await pollUntil(restored, 1, later);
    expect(later).toEqual(['late']);
  });

  it('picks up a file added while a checkpointed job runs', async () => {
    const folder = join(dir.path, 'watched-job');
    await mkdir(folder);
    await publish(folder, 'a.txt', ['a1', 'a2', 'a3']);
    await publish(folder, 'b.txt', ['b1']);
    const lines: string[] = [];
    const env = StreamExecutionEnvironment.getExecutionEnvironment()
      .setParallelism(2)
      .configureCheckpointing({ interval: 20, dir: join(dir.path, 'watched-checkpoints') })
      .setRestartStrategy({ type: 'none' });
    env
      .fromSource(FileSource.forLines(folder, { monitorIntervalMs: 10 }), 'watched')
      .uid('watched')
      .setParallelism(2)
      .sinkTo(() => ({
        invoke(line: string) {
          // The source never ends: the job is stopped by failing it on the last line of the new file.
          if (line === 'STOP') throw new Error('seen the new file');
          lines.push(line);
          if (lines.length === 4) void publish(folder, 'c.txt', ['c1', 'c2', 'STOP']);
        },
      }));
    await expect(env.execute('watch a directory')).rejects.toThrow(/seen the new file/);
    expect(lines.sort()).toEqual(['a1', 'a2', 'a3', 'b1', 'c1', 'c2']);
  });
});
