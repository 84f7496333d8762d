/**
 * The contract between a subtask and one operator of its chain. The subtask owns the state
 * backends and the output; an operator only transforms records and snapshots its own state.
 */
import type { DeclaredKeyedState } from '../state/restore-plan.ts';
import type { RuntimeContext } from '../api/runtime-context.ts';
import type { KeyedStateBackend } from '../state/keyed-state-backend.ts';
import type { Mail } from './mailbox.ts';
import type { ProcessingTimeService } from './processing-time-service.ts';

export interface Output {
  collect(value: unknown, timestamp: number | null): void;
  /**
   * A record for the side output with this OutputTag id (Flink's Output.collect(tag, record)): it
   * reaches only the edges taken with getSideOutput(tag), and is dropped when there are none.
   * Every subtask output has it; optional so that a test's stand-in output may leave it out.
   */
  emitSideOutput?(tag: string, value: unknown, timestamp: number | null): void;
  emitWatermark(timestamp: number): void;
}

export interface OperatorSetup {
  readonly context: RuntimeContext;
  readonly output: Output;
  /** Whether this operator's state came from a checkpoint or savepoint (CheckpointedFunction). */
  readonly isRestored: boolean;
  /** Keyed operators only: the backend, for engine-internal keyed state such as timers. */
  readonly keyedBackend?: KeyedStateBackend;
  /** Wall-clock callbacks delivered through the subtask's mailbox (timers, periodic watermarks). */
  readonly processingTime: ProcessingTimeService;
  /**
   * The subtask's mailbox: work put here runs on the subtask's own loop between records (Async
   * I/O emits its results so). Always given by a subtask; tests may leave it out.
   */
  readonly mailbox?: { put(mail: Mail): void };
}

export interface StreamOperator {
  open(setup: OperatorSetup): void | Promise<void>;
  /** One record; for keyed operators the subtask has set the current key already. */
  processRecord(value: unknown, timestamp: number | null, input: number): void | Promise<void>;
  /**
   * The combined watermark of the operator's inputs. Fire what it makes due (event-time timers,
   * windows), then forward it with `output.emitWatermark`; a returned promise is awaited before
   * the subtask processes anything else.
   */
  processWatermark(timestamp: number): void | Promise<void>;
  /** Synchronous part of a snapshot: called at the barrier, before it is forwarded. */
  snapshotState?(checkpointId: number): void | Promise<void>;
  notifyCheckpointComplete?(checkpointId: number): void | Promise<void>;
  notifyCheckpointAborted?(checkpointId: number): void | Promise<void>;
  /** End of input: flush what is buffered (a bounded job finishing). */
  finish?(): void | Promise<void>;
  close?(): void | Promise<void>;
  /**
   * Keyed states whose declaration the operator knows before it opens (a window's accumulator
   * schema), so `plan-restore` can say what a restore will migrate; most operators know none.
   */
  declaredKeyedStates?(): readonly DeclaredKeyedState[];
  /**
   * Backpressure: false while the operator cannot take another element (Async I/O with a full
   * queue). The subtask then reads no input and runs mail until it is true again.
   */
  isAvailable?(): boolean;
  /**
   * Elements taken in whose output is still to come through the mailbox (Async I/O's requests).
   * At end of input the subtask runs mail until every operator reports 0, before finish().
   */
  inFlight?(): number;
}
