/** What a command may touch of the outside world; tests pass their own. */
export interface Output {
  write(text: string): void;
  readonly isTTY?: boolean;
}

export interface CliContext {
  /** Data: tables, JSON, entries. */
  readonly stdout: Output;
  /** Messages: progress, warnings, errors. */
  readonly stderr: Output;
  readonly env: Readonly<Record<string, string | undefined>>;
  /** Where relative paths and ./conf are resolved (default: the process's). */
  readonly cwd?: string;
}

export function processContext(): CliContext {
  endQuietlyWhenStdoutCloses();
  return {
    stdout: { write: (text) => void process.stdout.write(text), isTTY: process.stdout.isTTY === true },
    stderr: { write: (text) => void process.stderr.write(text), isTTY: process.stderr.isTTY === true },
    env: process.env,
  };
}

let watching = false;

/**
 * `flink inspect ... --entries | head -1`: the reader has all it wanted, so the command ends
 * with exit 0 and no message, as a Unix tool killed by SIGPIPE ends its pipeline quietly.
 * A closed stderr loses only messages; the command goes on and keeps its exit code.
 */
function endQuietlyWhenStdoutCloses(): void {
  if (watching) return;
  watching = true;
  process.stdout.on('error', (err: NodeJS.ErrnoException) => {
    if (err.code === 'EPIPE' || err.code === 'ERR_STREAM_DESTROYED') process.exit(0);
    throw err;
  });
  process.stderr.on('error', (err: NodeJS.ErrnoException) => {
    if (err.code === 'EPIPE' || err.code === 'ERR_STREAM_DESTROYED') return;
    throw err;
  });
}
