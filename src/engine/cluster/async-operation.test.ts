import { describe, expect, it } from 'vitest';
import { UserError } from '../../errors.ts';
import { awaitOperation } from './async-operation.ts';
import type { AsyncOperation } from './cluster-api.ts';

type Op = AsyncOperation<{ readonly location: string }>;

function sequence(...states: Op[]): { poll: () => Promise<Op>; calls: () => number } {
  let calls = 0;
  return {
    poll: async () => {
      const state = states[Math.min(calls, states.length - 1)];
      calls++;
      if (state === undefined) throw new Error('no states');
      return state;
    },
    calls: () => calls,
  };
}

const inProgress: Op = { status: { id: 'IN_PROGRESS' } };
const done: Op = { status: { id: 'COMPLETED' }, operation: { location: 's3://b/sp-1' } };

describe('awaitOperation', () => {
  it('polls until COMPLETED and returns the operation', async () => {
    const ops = sequence(inProgress, inProgress, done);
    let waits = 0;
    const result = await awaitOperation(ops.poll, { intervalMs: 1, onWait: () => { waits++; } });
    expect(result).toEqual({ location: 's3://b/sp-1' });
    expect(ops.calls()).toBe(3);
    expect(waits).toBe(2);
  });

  it('returns at once when the first poll is complete', async () => {
    const ops = sequence(done);
    await expect(awaitOperation(ops.poll)).resolves.toEqual({ location: 's3://b/sp-1' });
    expect(ops.calls()).toBe(1);
  });

  it('throws the failure cause as a UserError with exit code 1', async () => {
    const failed: Op = {
      status: { id: 'COMPLETED' },
      operation: { 'failure-cause': { class: 'CheckpointException', message: 'Job 42 is not running.', 'stack-trace': '...' } },
    };
    const err = await awaitOperation(sequence(inProgress, failed).poll, { intervalMs: 1 }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(UserError);
    expect((err as UserError).message).toBe('Job 42 is not running.');
    expect((err as UserError).exitCode).toBe(1);
  });

  it('times out with a message naming what it waited for', async () => {
    const ops = sequence(inProgress);
    const started = Date.now();
    const err = await awaitOperation(ops.poll, { intervalMs: 10, timeoutMs: 100, what: 'the savepoint' }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(UserError);
    expect((err as UserError).message).toBe('Timed out after 0.1 s waiting for the savepoint to complete.');
    expect((err as UserError).exitCode).toBe(1);
    expect(Date.now() - started).toBeGreaterThanOrEqual(95);
    expect(ops.calls()).toBeGreaterThan(2);
  });

  it('polls every 100 ms by default', async () => {
    const ops = sequence(inProgress, inProgress, done);
    const started = Date.now();
    await awaitOperation(ops.poll);
    expect(Date.now() - started).toBeGreaterThanOrEqual(190);
  });

  it('passes errors of the poll through', async () => {
    const boom = new Error('connection lost');
    await expect(awaitOperation(() => Promise.reject(boom))).rejects.toBe(boom);
  });
});
