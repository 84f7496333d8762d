/**
 * Flink's AsyncWaitOperator: calls an AsyncFunction per record and emits its results when they
 * come back, with at most `capacity` elements taken in and not yet emitted.
 *
 * Results never leave from the callback that completes a request: completing only marks the
 * entry and puts one mail into the subtask's mailbox, and that mail emits on the subtask's own
 * loop, between records. A full queue makes the operator unavailable (`isAvailable`): the subtask
 * then reads no input and runs mail until results have gone (Flink's mailbox yield, without a
 * busy loop). Elements that arrive while full in one go (the rest of a source's batch, the fan-out
 * of a flatMap before it) wait in `#held` without being invoked, so no more than `capacity`
 * requests are ever in flight.
 *
 * At a barrier every element taken in and not emitted (in flight, completed but waiting for its
 * turn, held) goes into operator list state, Flink's `_async_wait_operator_state_`; after a
 * restore (at any parallelism: the list is split over the subtasks) they are invoked again.
 */
import { InternalError, UserError } from '../../errors.ts';
import { type AsyncFunction, type ResultFuture, TimeoutException } from '../api/async-function.ts';
import type { OperatorListState } from '../state/operator-state-store.ts';
import { type AsyncElement, type AsyncElementQueue, OrderedElementQueue, type QueueEntry, UnorderedElementQueue } from './async-element-queue.ts';
import type { Mail } from './mailbox.ts';
import type { ProcessingTimeService } from './processing-time-service.ts';
import type { OperatorSetup, Output, StreamOperator } from './stream-operator.ts';

export type AsyncOutputMode = 'ORDERED' | 'UNORDERED';

export const ASYNC_STATE_NAME = '_async_wait_operator_state_';

interface RecordEntry extends QueueEntry {
  cancelTimeout: (() => void) | undefined;
}

export class AsyncWaitOperator implements StreamOperator {
  readonly #queue: AsyncElementQueue;
  #held: AsyncElement[] = [];
  #output!: Output;
  #put!: (mail: Mail) => void;
  #time!: ProcessingTimeService;
  #state!: OperatorListState<AsyncElement>;
  #operatorUid = '';
  #seq = 0;
  #emitScheduled = false;
  #failure: Error | undefined;
  #closed = false;

  constructor(
    private readonly fn: AsyncFunction<unknown, unknown>,
    private readonly timeoutMs: number,
    private readonly capacity: number,
    mode: AsyncOutputMode,
  ) {
    this.#queue = mode === 'ORDERED' ? new OrderedElementQueue() : new UnorderedElementQueue();
  }

  async open(setup: OperatorSetup): Promise<void> {
    if (setup.mailbox === undefined) throw new InternalError('the async wait operator needs its subtask’s mailbox');
    this.#output = setup.output;
    this.#put = (mail) => setup.mailbox!.put(mail);
    this.#time = setup.processingTime;
    this.#operatorUid = setup.context.operatorUid;
    this.#state = setup.context.operatorState.getListState<AsyncElement>(ASYNC_STATE_NAME);
    await this.fn.open?.(setup.context);
    // As Flink's open(): what was in flight at the checkpoint is taken in (and invoked) again.
    if (setup.isRestored) for (const element of [...this.#state.get()]) this.#take(element);
  }

  processRecord(value: unknown, timestamp: number | null): void {
    this.#take({ kind: 'record', value, timestamp });
  }

  processWatermark(timestamp: number): void {
    this.#take({ kind: 'watermark', timestamp });
    this.#emitReady();
  }

  /** False while `capacity` elements are taken in and not emitted: the subtask then reads no input. */
  isAvailable(): boolean {
    return this.#queue.size + this.#held.length < this.capacity;
  }

  /** Elements taken in and not yet emitted (the subtask waits for none left at end of input). */
  inFlight(): number {
    return this.#queue.size + this.#held.length;
  }

  snapshotState(): void {
    this.#state.update([...this.#queue.values().map((e) => e.element), ...this.#held]);
  }

  async notifyCheckpointComplete(checkpointId: number): Promise<void> {
    await this.fn.notifyCheckpointComplete?.(checkpointId);
  }

  async notifyCheckpointAborted(checkpointId: number): Promise<void> {
    await this.fn.notifyCheckpointAborted?.(checkpointId);
  }

  async close(): Promise<void> {
    // Requests still out (a failed or cancelled attempt) complete into nothing.
    this.#closed = true;
    for (const e of this.#queue.values()) (e as RecordEntry).cancelTimeout?.();
    await this.fn.close?.();
  }

  #take(element: AsyncElement): void {
    if (this.#held.length === 0 && this.#queue.size < this.capacity) this.#admit(element);
    else this.#held.push(element);
  }

  #admit(element: AsyncElement): void {
    if (element.kind === 'watermark') {
      this.#queue.add({ element, seq: this.#seq++, done: true, results: [] });
      return;
    }
    const entry: RecordEntry = { element, seq: this.#seq++, done: false, results: [], cancelTimeout: undefined };
    this.#queue.add(entry);
    const future = this.#futureOf(entry);
    if (this.timeoutMs > 0) {
      entry.cancelTimeout = this.#time.scheduleAt(this.#time.now() + this.timeoutMs, () => this.#timedOut(entry, future));
    }
    // A synchronous throw fails the record's processing, and with it the job (as in Flink).
    const returned: unknown = this.fn.asyncInvoke(element.value, future);
    if (returned === undefined) return;
    if (!isThenable(returned)) {
      // A factory of functions passed where the function belongs ends up here: say so, not hang.
      throw new UserError(`async wait operator '${this.#operatorUid}': asyncInvoke returned ${typeof returned === 'object' ? 'an object' : `a ${typeof returned}`}: complete the ResultFuture or return a promise of the results (pass the AsyncFunction itself, not a factory of it)`);
    }
    returned.then(
      (results) => {
        if (results !== undefined) future.complete(results);
      },
      (err: unknown) => future.completeExceptionally(err),
    );
  }

  #futureOf(entry: RecordEntry): ResultFuture<unknown> {
    return {
      complete: (results) => {
        if (entry.done || this.#closed) return;
        entry.done = true;
        entry.results = Array.from(results);
        entry.cancelTimeout?.();
        this.#queue.completed(entry);
        this.#scheduleEmit();
      },
      completeExceptionally: (error) => {
        if (entry.done || this.#closed) return;
        entry.done = true;
        entry.cancelTimeout?.();
        const record = entry.element as Extract<AsyncElement, { kind: 'record' }>;
        const cause = error instanceof Error ? error.message : String(error);
        this.#failure ??= new Error(`async wait operator '${this.#operatorUid}': could not complete the stream element ${describe(record)}: ${cause}`, { cause: error });
        this.#scheduleEmit();
      },
    };
  }

  #timedOut(entry: RecordEntry, future: ResultFuture<unknown>): void | Promise<void> {
    if (entry.done || this.#closed) return;
    const input = (entry.element as Extract<AsyncElement, { kind: 'record' }>).value;
    if (this.fn.timeout !== undefined) return this.fn.timeout(input, future);
    future.completeExceptionally(new TimeoutException('Async function call has timed out.'));
  }

  #scheduleEmit(): void {
    if (this.#emitScheduled) return;
    this.#emitScheduled = true;
    this.#put(() => {
      this.#emitScheduled = false;
      if (!this.#closed) this.#emitReady();
    });
  }

  /** On the subtask's loop: emit what may go, then take in held elements while there is room. */
  #emitReady(): void {
    if (this.#failure !== undefined) throw this.#failure;
    for (;;) {
      let entry = this.#queue.poll();
      while (entry !== undefined) {
        const { element } = entry;
        if (element.kind === 'watermark') this.#output.emitWatermark(element.timestamp);
        else for (const r of entry.results) this.#output.collect(r, element.timestamp);
        entry = this.#queue.poll();
      }
      if (this.#held.length === 0 || this.#queue.size >= this.capacity) return;
      // Admitting a held watermark may make it due at once: go round again.
      while (this.#held.length > 0 && this.#queue.size < this.capacity) this.#admit(this.#held.shift()!);
    }
  }
}

function isThenable(value: unknown): value is PromiseLike<Iterable<unknown> | undefined> {
  return typeof (value as { then?: unknown } | null)?.then === 'function';
}

function describe(record: Extract<AsyncElement, { kind: 'record' }>): string {
  let value: string;
  try {
    value = JSON.stringify(record.value) ?? String(record.value);
  } catch {
    value = String(record.value);
  }
  if (value.length > 200) value = `${value.slice(0, 200)}…`;
  return `Record @ ${record.timestamp ?? '(undef)'} : ${value}`;
}
