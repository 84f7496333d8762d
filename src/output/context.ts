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
  return {
    stdout: { write: (text) => void process.stdout.write(text), isTTY: process.stdout.isTTY === true },
    stderr: { write: (text) => void process.stderr.write(text), isTTY: process.stderr.isTTY === true },
    env: process.env,
  };
}
