/**
 * The few error classes the whole program uses. Library code throws them; `src/cli.ts` alone
 * turns them into an exit code and one line on stderr (see `exitCodeFor` and `describeError`).
 */

/** Exit codes, documented in README.md. */
export const ExitCode = {
  ok: 0,
  /** A finding: `diff` found differences, `verify` found corruption. */
  finding: 1,
  /** A cluster command (run, list, savepoint, ...) failed, for any reason, bad arguments included (as Flink). */
  failure: 1,
  /** A file tool (inspect, diff, verify) could not do its work: bad arguments, missing or unreadable input, unsupported file. */
  error: 2,
  /** A bug in tsflink itself. */
  internal: 70,
} as const;
export type ExitCode = (typeof ExitCode)[keyof typeof ExitCode];

/** Wrong flags or arguments on the command line. */
export class UsageError extends Error {
  override readonly name: string = 'UsageError';
  readonly exitCode: number = ExitCode.error;
}

/** Something the user can fix: a wrong path, a missing bucket, a value out of range. */
export class UserError extends Error {
  override readonly name: string = 'UserError';
  constructor(
    message: string,
    readonly exitCode: number = ExitCode.error,
    options?: { cause?: unknown },
  ) {
    super(message, options);
  }
}

/**
 * A file that does not follow docs/FORMAT.md: corrupt, truncated, from an unknown version or
 * with an unknown required feature. Always names the file and, where known, the byte offset.
 */
export class FormatError extends Error {
  override readonly name: string = 'FormatError';
  constructor(
    readonly file: string,
    readonly offset: number | undefined,
    readonly problem: string,
    /** `unsupported`: the file may be fine but this tsflink cannot read it (newer version, unknown feature). */
    readonly kind: 'corrupt' | 'unsupported' = 'corrupt',
    options?: { cause?: unknown },
  ) {
    super(`${file}${offset === undefined ? '' : ` at offset ${offset}`}: ${problem}`, options);
  }
}

/** A broken invariant inside tsflink: a bug to report, never the user's fault. */
export class InternalError extends Error {
  override readonly name: string = 'InternalError';
}

export function exitCodeFor(err: unknown): number {
  if (err instanceof UsageError || err instanceof UserError) return err.exitCode;
  if (err instanceof FormatError) return ExitCode.error;
  return ExitCode.internal;
}

/** The one line a user sees for an error (stack traces only with --verbose). */
export function describeError(err: unknown): string {
  if (err instanceof UsageError || err instanceof UserError || err instanceof FormatError) {
    return oneLine(err.message);
  }
  const message = err instanceof Error ? err.message : String(err);
  return `internal error: ${oneLine(message)} (this is a bug in tsflink; run again with --verbose and report it)`;
}

/**
 * Errors are one line on stderr. A message can carry more (a job's own error, a compiler's
 * report on a job file): the first line says what happened, --verbose shows the rest.
 */
function oneLine(message: string): string {
  const lines = message.split(/\r?\n/).filter((line) => line.trim() !== '');
  const first = lines[0]?.trimEnd() ?? '';
  return lines.length > 1 ? `${first} (more with --verbose)` : first;
}
