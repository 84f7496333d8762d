import { describe, expect, it } from 'vitest';
import { TaskFailure, attemptFailure, errorSummary, stackTrace } from './task-failure.ts';

describe('task failures', () => {
  it("carry the task and the user's error, class and stack", () => {
    const user = new TypeError('x is undefined');
    const failure = attemptFailure(new TaskFailure('Source: words -> Map (2/4)', user));
    expect(failure).toEqual({ message: 'Source: words -> Map (2/4): TypeError: x is undefined', exceptionName: 'TypeError', stacktrace: user.stack, taskName: 'Source: words -> Map (2/4)' });
  });

  it('a failure outside any task has no task name', () => {
    const err = new Error('the final checkpoint failed');
    expect(attemptFailure(err)).toEqual({ message: 'the final checkpoint failed', exceptionName: 'Error', stacktrace: err.stack, taskName: null });
    expect(attemptFailure('a string')).toEqual({ message: 'a string', exceptionName: 'string', stacktrace: 'a string', taskName: null });
  });

  it('print causes as Java does, and only the first line of a message in the summary', () => {
    const root = new Error('connection refused');
    const err = new Error('cannot commit\nsecond line', { cause: root });
    expect(stackTrace(err)).toBe(`${err.stack}\nCaused by: ${root.stack}`);
    expect(errorSummary(err)).toBe('Error: cannot commit');
    expect(errorSummary(new Error(''))).toBe('Error');
  });

  it('stop at a cause that loops', () => {
    const a = new Error('a');
    const b = new Error('b', { cause: a });
    (a as { cause?: unknown }).cause = b;
    expect(stackTrace(a).split('Caused by:')).toHaveLength(2);
  });
});
