import { describe, expect, it } from 'vitest';
import { InternalError } from '../../errors.ts';
import { type CheckpointConfig, type CheckpointRetention, defaultCheckpointConfig } from './checkpoint-config.ts';
import { type CompletedSnapshot, toCheckpointId as id } from './checkpoint-types.ts';
import { checkpointsToDiscard, onJobTermination, type TerminalJobStatus } from './retention.ts';

const config = (numRetained: number, retention: CheckpointRetention = 'NO_EXTERNALIZED_CHECKPOINTS'): CheckpointConfig => ({
  ...defaultCheckpointConfig,
  numRetained,
  retention,
});
const chk = (n: number): CompletedSnapshot => ({ id: id(n), isSavepoint: false });
const sp = (n: number): CompletedSnapshot => ({ id: id(n), isSavepoint: true });

describe('checkpointsToDiscard', () => {
  it.each<[string, number, readonly CompletedSnapshot[], readonly number[]]>([
    ['nothing completed', 1, [], []],
    ['one of one', 1, [chk(1)], []],
    ['keeps the newest', 1, [chk(1), chk(2), chk(3)], [1, 2]],
    ['keeps the newest three', 3, [chk(1), chk(2), chk(3), chk(4), chk(5)], [1, 2]],
    ['fewer than retained', 5, [chk(1), chk(2)], []],
    ['order of the input does not matter', 2, [chk(9), chk(3), chk(7), chk(1)], [1, 3]],
    ['savepoints are never deleted and take no slot', 1, [sp(1), chk(2), sp(3), chk(4), sp(5)], [2]],
    ['only savepoints', 1, [sp(1), sp(2)], []],
    ['an unclaimed restore source is never deleted', 1, [sp(1), chk(2), chk(3)], [2]],
    ['a claimed restore source is deleted like a checkpoint', 1, [chk(1), chk(2)], [1]],
  ])('%s', (_name, numRetained, completed, discard) => {
    expect(checkpointsToDiscard(config(numRetained), completed)).toEqual(discard);
  });

  it('refuses duplicate ids', () => {
    expect(() => checkpointsToDiscard(config(1), [chk(1), chk(1)])).toThrow(InternalError);
  });
});

describe('onJobTermination', () => {
  const retained = [chk(4), sp(5), chk(6)];
  const all = [4, 6];

  it.each<[CheckpointRetention, TerminalJobStatus, readonly number[]]>([
    ['NO_EXTERNALIZED_CHECKPOINTS', 'FINISHED', all],
    ['NO_EXTERNALIZED_CHECKPOINTS', 'CANCELED', all],
    ['NO_EXTERNALIZED_CHECKPOINTS', 'FAILED', all],
    ['NO_EXTERNALIZED_CHECKPOINTS', 'SUSPENDED', []],
    ['DELETE_ON_CANCELLATION', 'FINISHED', all],
    ['DELETE_ON_CANCELLATION', 'CANCELED', all],
    ['DELETE_ON_CANCELLATION', 'FAILED', []],
    ['DELETE_ON_CANCELLATION', 'SUSPENDED', []],
    ['RETAIN_ON_CANCELLATION', 'FINISHED', all],
    ['RETAIN_ON_CANCELLATION', 'CANCELED', []],
    ['RETAIN_ON_CANCELLATION', 'FAILED', []],
    ['RETAIN_ON_CANCELLATION', 'SUSPENDED', []],
  ])('%s, job %s: delete %j (never the savepoint)', (retention, terminal, discard) => {
    expect(onJobTermination(config(2, retention), terminal, retained)).toEqual(discard);
  });
});
