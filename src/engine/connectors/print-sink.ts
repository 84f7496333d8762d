/**
 * Prints every record on its own line (Flink's PrintSink / DataStream.print()): to stdout, or
 * stderr, or any writable. As Flink's PrintSinkOutputWriter, the line is prefixed with
 * `<identifier>:<subtask+1>> ` when the sink runs in parallel, `<identifier>> ` when only an
 * identifier is given, and nothing at parallelism 1 without one. Strings print as they are, other
 * values as JSON (Flink prints toString()). Not transactional: after a failure, records replayed
 * from the last checkpoint are printed again (at-least-once, as in Flink).
 *
 * Plain fields, no #private ones, so `sinkTo(new PrintSink())` works with the per-subtask copy
 * `sinkTo` makes of an object, as well as with a factory.
 */
import type { RuntimeContext } from '../api/runtime-context.ts';
import type { SinkFunction } from '../runtime/operators.ts';

/** What the sink writes to: process.stdout, a file stream, or a test's collector. */
export interface LineWritable {
  write(chunk: string): unknown;
}

export interface PrintSinkOptions<T> {
  /** Put in front of the subtask number, as Flink's `print(sinkIdentifier)`. */
  readonly identifier?: string;
  /** Print to stderr instead of stdout (Flink's printToErr()). */
  readonly stderr?: boolean;
  /** Where to print; overrides `stderr`. */
  readonly out?: LineWritable;
  readonly format?: (value: T) => string;
}

export class PrintSink<T> implements SinkFunction<T> {
  protected prefix = '';
  protected out: LineWritable | undefined;

  constructor(readonly options: PrintSinkOptions<T> = {}) {}

  open(context: RuntimeContext): void {
    this.prefix = printPrefix(this.options.identifier ?? '', context.subtaskIndex, context.parallelism);
    this.out = this.options.out ?? (this.options.stderr === true ? process.stderr : process.stdout);
  }

  invoke(value: T): void {
    const text = this.options.format === undefined ? formatValue(value) : this.options.format(value);
    (this.out ?? process.stdout).write(`${this.prefix}${text}\n`);
  }
}

/** Flink's rule: `id:` (if any) then `subtask+1` (if parallel), then `> ` if anything came before. */
export function printPrefix(identifier: string, subtaskIndex: number, parallelism: number): string {
  let prefix = identifier;
  if (parallelism > 1) prefix = `${prefix === '' ? '' : `${prefix}:`}${subtaskIndex + 1}`;
  return prefix === '' ? '' : `${prefix}> `;
}

function formatValue(value: unknown): string {
  if (typeof value === 'string') return value;
  try {
    return JSON.stringify(value) ?? String(value);
  } catch {
    return String(value); // bigint, cycles: still print something
  }
}
