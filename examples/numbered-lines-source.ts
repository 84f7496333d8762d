/**
 * A replayable source written against the Source API (src/engine/api/source.ts): the lines of
 * text files, each with its file and line number. The worked example of README "Sources".
 *
 *   flink run -p 2 examples/numbered-lines-source.ts <file>... [--output <dir>]
 *
 * What makes a source replayable, exactly once through failures and rescales:
 * - The work is cut into splits whose state is plain data (here one split per file, its state
 *   `{ path, nextLine }`). `createSplits` makes them for a job that starts fresh; the engine deals
 *   them out over the subtasks, and on a restore hands each subtask the split states of the
 *   checkpoint instead, at whatever parallelism the job now has (splits move whole).
 * - A reader reads the splits it was given (`addSplits`) and returns records from `poll`; its
 *   `snapshotSplits` must describe exactly the position after the last record `poll` returned, so
 *   a restore continues with the next record, none skipped and none repeated. Here `nextLine`
 *   advances in the same synchronous step that returns the lines.
 * - A bounded source says `done` when every split is read; finished splits leave the state.
 *
 * Output: one `file:line:text` line per line, printed, or with `--output <dir>` in committed part files.
 */
import { readFile } from 'node:fs/promises';
import { basename, resolve } from 'node:path';
import type { PollResult, Source, SourceReader, SourceRecord, StreamExecutionEnvironment } from '../src/index.ts';
import { FileSink, PrintSink } from '../src/index.ts';

export interface NumberedLine {
  readonly file: string;
  /** 1-based, as editors count. */
  readonly line: number;
  readonly text: string;
}

/** A split's state: which file, and the index of the next line to emit. Plain data, checkpointed as is. */
interface LineSplit {
  readonly path: string;
  readonly nextLine: number;
}

export class NumberedLinesSource implements Source<NumberedLine> {
  readonly bounded = true;
  readonly #paths: readonly string[];

  constructor(paths: readonly string[]) {
    if (paths.length === 0) throw new Error('numbered lines: no files given');
    this.#paths = paths.map((p) => resolve(p));
  }

  /** One split per file, from its first line. Used only when the job starts without a snapshot. */
  createSplits(): LineSplit[] {
    return this.#paths.map((path) => ({ path, nextLine: 0 }));
  }

  createReader(): SourceReader<NumberedLine> {
    return new NumberedLinesReader();
  }
}

class NumberedLinesReader implements SourceReader<NumberedLine> {
  /** Unfinished splits, read one after the other. */
  readonly #splits: { path: string; nextLine: number }[] = [];
  /** The lines of the head split's file, once read. */
  #lines: string[] | undefined;

  /** Fresh splits, or split states from a checkpoint: validated, since a snapshot is input too. */
  addSplits(splits: readonly unknown[]): void {
    for (const s of splits) {
      const split = s as Partial<LineSplit> | null;
      if (typeof split?.path !== 'string' || !Number.isSafeInteger(split.nextLine) || split.nextLine! < 0) {
        throw new Error(`numbered lines: split state ${JSON.stringify(s)} is not { path, nextLine }`);
      }
      this.#splits.push({ path: split.path, nextLine: split.nextLine! });
    }
  }

  async poll(max: number): Promise<PollResult<NumberedLine>> {
    const split = this.#splits[0];
    if (split === undefined) return { records: [], done: true };
    // A whole file in memory keeps the example short; a real reader reads a bounded window.
    this.#lines ??= splitLines(await readFile(split.path, 'utf8'));
    const lines = this.#lines;
    const records: SourceRecord<NumberedLine>[] = [];
    const file = basename(split.path);
    while (records.length < max && split.nextLine < lines.length) {
      records.push({ value: { file, line: split.nextLine + 1, text: lines[split.nextLine]! }, timestamp: null });
      split.nextLine += 1; // the position moves with the records returned: snapshotSplits is exact
    }
    if (split.nextLine >= lines.length) {
      this.#splits.shift(); // finished: it leaves the state
      this.#lines = undefined;
    }
    return { records, done: this.#splits.length === 0 };
  }

  snapshotSplits(): LineSplit[] {
    return this.#splits.map((s) => ({ path: s.path, nextLine: s.nextLine }));
  }
}

/** Lines ended by `\n` or `\r\n`; a last line without an ending is a line, an empty file has none. */
function splitLines(text: string): string[] {
  const lines = text.split('\n').map((l) => (l.endsWith('\r') ? l.slice(0, -1) : l));
  if (lines[lines.length - 1] === '') lines.pop();
  return lines;
}

export const numberedLine = (l: NumberedLine): string => `${l.file}:${l.line}:${l.text}`;

export default (env: StreamExecutionEnvironment, args: string[]): void => {
  const at = args.indexOf('--output');
  const output = at === -1 ? undefined : args[at + 1];
  const files = at === -1 ? args : [...args.slice(0, at), ...args.slice(at + 2)];
  if (at !== -1 && output === undefined) throw new Error('numbered lines: --output needs a directory');
  const lines = env.fromSource(new NumberedLinesSource(files), 'numbered-lines').uid('numbered-lines');
  if (output === undefined) lines.map(numberedLine).uid('format').sinkTo(new PrintSink<string>()).uid('print');
  else lines.sinkTo(FileSink.forRowFormat<NumberedLine>(output, { encoder: numberedLine })).uid('lines-sink');
};
