/**
 * The contract between a subtask and one operator of its chain. The subtask owns the state
 * backends and the output; an operator only transforms records and snapshots its own state.
 */
import type { RuntimeContext } from '../api/runtime-context.ts';

export interface Output {
  collect(value: unknown, timestamp: number | null): void;
  emitWatermark(timestamp: number): void;
}

export interface OperatorSetup {
  readonly context: RuntimeContext;
  readonly output: Output;
  /** Whether this operator's state came from a checkpoint or savepoint (CheckpointedFunction). */
  readonly isRestored: boolean;
}

export interface StreamOperator {
  open(setup: OperatorSetup): void | Promise<void>;
  /** One record; for keyed operators the subtask has set the current key already. */
  processRecord(value: unknown, timestamp: number | null, input: number): void | Promise<void>;
  processWatermark(timestamp: number): void | Promise<void>;
  /** Synchronous part of a snapshot: called at the barrier, before it is forwarded. */
  snapshotState?(checkpointId: number): void | Promise<void>;
  notifyCheckpointComplete?(checkpointId: number): void | Promise<void>;
  notifyCheckpointAborted?(checkpointId: number): void | Promise<void>;
  /** End of input: flush what is buffered (a bounded job finishing). */
  finish?(): void | Promise<void>;
  close?(): void | Promise<void>;
}
