/**
 * A failure inside a subtask, as Flink reports one: which task it was (the chain's vertex name
 * and `(i/p)`, 1-based) and the user's own error with its stack. The stack is kept as text,
 * because the failure crosses the worker's IPC channel to the JobManager.
 */
export class TaskFailure extends Error {
  override readonly name: string = 'TaskFailure';

  constructor(
    /** `Source: words -> Map (2/4)`. */
    readonly taskName: string,
    readonly error: unknown,
  ) {
    super(`${taskName}: ${errorSummary(error)}`, { cause: error });
  }
}

/** What an attempt's failure tells the JobManager (Flink's exception history entry). */
export interface AttemptFailure {
  /** One line: `Map (2/4): TypeError: x is undefined`. */
  readonly message: string;
  /** The error's class, e.g. `TypeError` (Flink gives the Java class). */
  readonly exceptionName: string;
  /** The user's stack trace, causes included. */
  readonly stacktrace: string;
  /** The task it happened in, when it happened in one. */
  readonly taskName: string | null;
}

export function attemptFailure(err: unknown): AttemptFailure {
  const inner = err instanceof TaskFailure ? err.error : err;
  return {
    message: err instanceof Error ? err.message : String(err),
    exceptionName: inner instanceof Error ? inner.name : typeof inner,
    stacktrace: stackTrace(inner),
    taskName: err instanceof TaskFailure ? err.taskName : null,
  };
}

/** `Error: boom`: the error's name and its message's first line. */
export function errorSummary(err: unknown): string {
  if (!(err instanceof Error)) return String(err);
  const first = err.message.split('\n')[0] ?? '';
  return first === '' ? err.name : `${err.name}: ${first}`;
}

/** The error's stack, then each cause's, as Java prints `Caused by:`. */
export function stackTrace(err: unknown): string {
  const parts: string[] = [];
  const seen = new Set<unknown>();
  for (let e: unknown = err; e !== undefined && !seen.has(e); e = e instanceof Error ? e.cause : undefined) {
    seen.add(e);
    const text = e instanceof Error ? (e.stack ?? errorSummary(e)) : String(e);
    parts.push(parts.length === 0 ? text : `Caused by: ${text}`);
  }
  return parts.join('\n');
}
