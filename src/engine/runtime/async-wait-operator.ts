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
import type { AsyncRetryStrategy } from '../api/async-retry.ts';
import type { RuntimeContext } from '../api/runtime-context.ts';
import type { OperatorListState } from '../state/operator-state-store.ts';
import { type AsyncElement, type AsyncElementQueue, OrderedElementQueue, type QueueEntry, UnorderedElementQueue } from './async-element-queue.ts';
import type { Mail } from './mailbox.ts';
import type { ProcessingTimeService } from './processing-time-service.ts';
import type { OperatorSetup, Output, StreamOperator } from './stream-operator.ts';

export type AsyncOutputMode = 'ORDERED' | 'UNORDERED';

export const ASYNC_STATE_NAME = '_async_wait_operator_state_';

type RecordElement = Extract<AsyncElement, { kind: 'record' }>;

/** What a request's ResultFuture tells its operator; one object per operator, not closures per record. */
interface Completions {
  isClosed(): boolean;
  /** With a retry strategy: an attempt ended; the operator decides, in the mailbox, whether it was the last. */
  attempted: ((entry: Request, results: readonly unknown[] | undefined, error: unknown) => void) | undefined;
  completed(entry: Request): void;
  failed(entry: Request, error: unknown): void;
}

/**
 * A record taken in: its queue entry and its ResultFuture in one object (a class, so a record
 * costs one allocation and no closures).
 */
class Request implements QueueEntry, ResultFuture<unknown> {
  done = false;
  results: readonly unknown[] = [];
  slot?: unknown;
  /** Retries (Flink's RetryableResultHandlerDelegator): attempts so far, counted from 1. */
  attempts = 1;
  /** An attempt's outcome is being decided or a retry waits: further completions are ignored. */
  retryAwaiting = false;
  /** After the timeout: what completes the request is final, never retried. */
  retriesOver = false;
  cancelRetry: (() => void) | undefined;
  constructor(
    readonly element: RecordElement,
    readonly seq: number,
    /** When its timeout is due (processing time), if the operator has one. */
    readonly deadline: number,
    private readonly completions: Completions,
  ) {}

  complete(results: Iterable<unknown>): void {
    if (this.done || this.completions.isClosed()) return;
    const all = Array.isArray(results) ? (results as unknown[]) : Array.from(results);
    if (this.completions.attempted !== undefined && !this.retriesOver) return this.completions.attempted(this, all, undefined);
    this.finish(all);
  }

  completeExceptionally(error: unknown): void {
    if (this.done || this.completions.isClosed()) return;
    if (this.completions.attempted !== undefined && !this.retriesOver) return this.completions.attempted(this, undefined, error);
    this.fail(error);
  }

  finish(results: readonly unknown[]): void {
    this.done = true;
    this.results = results;
    this.completions.completed(this);
  }

  fail(error: unknown): void {
    this.done = true;
    this.completions.failed(this, error);
  }
}

export class AsyncWaitOperator implements StreamOperator {
  readonly #queue: AsyncElementQueue;
  /** Elements taken in while full, from `#heldHead` on (an index, not shift() per element). */
  #held: AsyncElement[] = [];
  #heldHead = 0;
  #output!: Output;
  #put!: (mail: Mail) => void;
  #time!: ProcessingTimeService;
  #state!: OperatorListState<AsyncElement>;
  #operatorUid = '';
  #seq = 0;
  #emitScheduled = false;
  #failure: Error | undefined;
  #closed = false;
  /**
   * Outstanding deadlines, oldest first, and one processing-time timer for the oldest (Flink
   * registers a timer per request; one timer per operator does the same work without a wall-clock
   * timer per record). Entries that completed are dropped as the head passes them.
   */
  #deadlines: Request[] = [];
  #deadlineHead = 0;
  #cancelTimer: (() => void) | undefined;
  #retryOnResult: (results: readonly unknown[]) => boolean = () => false;
  #retryOnError: (error: unknown) => boolean = () => false;

  constructor(
    private readonly fn: AsyncFunction<unknown, unknown>,
    private readonly timeoutMs: number,
    private readonly capacity: number,
    mode: AsyncOutputMode,
    private readonly retry?: AsyncRetryStrategy<unknown>,
  ) {
    this.#queue = mode === 'ORDERED' ? new OrderedElementQueue() : new UnorderedElementQueue();
    if (retry !== undefined) {
      const predicate = retry.getRetryPredicate();
      this.#retryOnResult = predicate.resultPredicate() ?? (() => false);
      this.#retryOnError = predicate.exceptionPredicate() ?? (() => false);
      this.#completions.attempted = (entry, results, error) => this.#put(() => this.#decideRetry(entry, results, error));
    }
  }

  async open(setup: OperatorSetup): Promise<void> {
    if (setup.mailbox === undefined) throw new InternalError('the async wait operator needs its subtask’s mailbox');
    this.#output = setup.output;
    this.#put = (mail) => setup.mailbox!.put(mail);
    this.#time = setup.processingTime;
    this.#operatorUid = setup.context.operatorUid;
    this.#state = setup.context.operatorState.getListState<AsyncElement>(ASYNC_STATE_NAME);
    const context = asyncFunctionContext(setup.context);
    await this.fn.initializeState?.({ isRestored: setup.isRestored, runtime: context });
    await this.fn.open?.(context);
    // As Flink's open(): what was in flight at the checkpoint is taken in (and invoked) again.
    if (setup.isRestored) {
      for (const element of [...this.#state.get()]) this.#take(element);
      // A restored watermark at the head is due at once; no completion would announce it.
      if (this.inFlight() > 0) this.#scheduleEmit();
    }
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
    return this.inFlight() < this.capacity;
  }

  /** Elements taken in and not yet emitted (the subtask waits for none left at end of input). */
  inFlight(): number {
    return this.#queue.size + this.#held.length - this.#heldHead;
  }

  async snapshotState(checkpointId: number): Promise<void> {
    this.#state.update([...this.#queue.values().map((e) => e.element), ...this.#held.slice(this.#heldHead)]);
    await this.fn.snapshotState?.({ checkpointId });
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
    this.#cancelTimer?.();
    this.#deadlines = [];
    await this.fn.close?.();
  }

  #take(element: AsyncElement): void {
    if (this.#held.length === this.#heldHead && this.#queue.size < this.capacity) this.#admit(element);
    else this.#held.push(element);
  }

  #admit(element: AsyncElement): void {
    if (element.kind === 'watermark') {
      this.#queue.add({ element, seq: this.#seq++, done: true, results: [] });
      return;
    }
    const future = new Request(element, this.#seq++, this.timeoutMs > 0 ? this.#time.now() + this.timeoutMs : 0, this.#completions);
    this.#queue.add(future);
    if (this.timeoutMs > 0) this.#watch(future);
    this.#invoke(future);
  }

  #invoke(future: Request): void {
    const { element } = future;
    // A synchronous throw fails the record's processing, and with it the job (as in Flink).
    const returned: unknown = this.fn.asyncInvoke(element.value, future);
    if (returned === undefined) return;
    if (!isThenable(returned)) {
      // A factory taking a parameter, passed where the function belongs, ends up here: say so, not hang.
      throw new UserError(`async wait operator '${this.#operatorUid}': asyncInvoke returned ${typeof returned === 'object' ? 'an object' : `a ${typeof returned}`}: complete the ResultFuture or return a promise of the results (a factory of AsyncFunctions takes no parameters)`);
    }
    returned.then(
      (results) => {
        if (results !== undefined) future.complete(results);
      },
      (err: unknown) => future.completeExceptionally(err),
    );
  }

  readonly #completions: Completions = {
    isClosed: () => this.#closed,
    attempted: undefined,
    completed: (entry) => {
      this.#queue.completed(entry);
      this.#scheduleEmit();
    },
    failed: (entry, error) => {
      const cause = error instanceof Error ? error.message : String(error);
      this.#failure ??= new Error(`async wait operator '${this.#operatorUid}': could not complete the stream element ${describe(entry.element)}: ${cause}`, { cause: error });
      this.#scheduleEmit();
    },
  };

  /**
   * In the mailbox, as Flink's processRetry: another attempt after the backoff when the outcome
   * matches the strategy's predicate and it allows one; else the outcome is final.
   */
  #decideRetry(entry: Request, results: readonly unknown[] | undefined, error: unknown): void {
    if (entry.done || entry.retryAwaiting || this.#closed) return;
    const retry = this.retry!; // only called with a strategy
    if (!entry.retriesOver && (results !== undefined ? this.#retryOnResult(results) : this.#retryOnError(error)) && retry.canRetry(entry.attempts)) {
      entry.retryAwaiting = true;
      entry.cancelRetry = this.#time.scheduleAt(this.#time.now() + retry.getBackoffTimeMillis(entry.attempts), () => {
        if (!entry.retryAwaiting || entry.done || this.#closed) return;
        entry.retryAwaiting = false;
        entry.attempts += 1;
        this.#invoke(entry);
      });
      return;
    }
    if (results !== undefined) entry.finish(results);
    else entry.fail(error);
  }

  #watch(deadline: Request): void {
    this.#deadlines.push(deadline);
    this.#dropCompletedDeadlines();
    if (this.#cancelTimer === undefined) this.#armTimer();
  }

  #dropCompletedDeadlines(): void {
    while (this.#deadlines[this.#deadlineHead]?.done === true) this.#deadlineHead += 1;
    if (this.#deadlineHead > 1024 && this.#deadlineHead * 2 > this.#deadlines.length) {
      this.#deadlines = this.#deadlines.slice(this.#deadlineHead);
      this.#deadlineHead = 0;
    }
  }

  #armTimer(): void {
    const oldest = this.#deadlines[this.#deadlineHead];
    this.#cancelTimer = oldest === undefined ? undefined : this.#time.scheduleAt(oldest.deadline, () => this.#onTimer());
  }

  /** In the mailbox: every request whose deadline passed gets the function's timeout(). */
  async #onTimer(): Promise<void> {
    this.#cancelTimer = undefined;
    if (this.#closed) return;
    const now = this.#time.now();
    for (;;) {
      this.#dropCompletedDeadlines();
      const oldest = this.#deadlines[this.#deadlineHead];
      if (oldest === undefined || oldest.deadline > now) break;
      this.#deadlineHead += 1;
      // The timeout covers every attempt: a retry waiting is dropped, and what completes now is final.
      oldest.retriesOver = true;
      oldest.retryAwaiting = false;
      oldest.cancelRetry?.();
      if (this.fn.timeout !== undefined) await this.fn.timeout(oldest.element.value, oldest);
      else oldest.completeExceptionally(new TimeoutException('Async function call has timed out.'));
    }
    if (!this.#closed) this.#armTimer();
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
      if (this.#held.length === this.#heldHead || this.#queue.size >= this.capacity) return;
      // Admitting a held watermark may make it due at once: go round again.
      while (this.#held.length > this.#heldHead && this.#queue.size < this.capacity) this.#admit(this.#held[this.#heldHead++]!);
      if (this.#heldHead === this.#held.length) {
        this.#held = [];
        this.#heldHead = 0;
      }
    }
  }
}

/**
 * What the function sees of its subtask (Flink's RichAsyncFunctionRuntimeContext): keyed state is
 * refused, for a result comes back when the subtask is at another record and key. Operator state
 * (`operatorState`, with CheckpointedFunction) is the subtask's and stays.
 */
function asyncFunctionContext(context: RuntimeContext): RuntimeContext {
  const refuse = (): never => {
    throw new UserError(`async wait operator '${context.operatorUid}': State is not supported in rich async functions. (keyed state belongs to the record being processed, and an async result comes back later)`);
  };
  return { ...context, getState: refuse, getListState: refuse, getMapState: refuse, getReducingState: refuse, getAggregatingState: refuse };
}

function isThenable(value: unknown): value is PromiseLike<Iterable<unknown> | undefined> {
  return typeof (value as { then?: unknown } | null)?.then === 'function';
}

function describe(record: RecordElement): string {
  let value: string;
  try {
    value = JSON.stringify(record.value) ?? String(record.value);
  } catch {
    value = String(record.value);
  }
  if (value.length > 200) value = `${value.slice(0, 200)}…`;
  return `Record @ ${record.timestamp ?? '(undef)'} : ${value}`;
}
