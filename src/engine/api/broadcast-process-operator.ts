/**
 * The operator behind both broadcast process functions (Flink's CoBroadcastWithKeyedOperator and
 * CoBroadcastWithNonKeyedOperator): input 0 is the data (keyed or not), input 1 the broadcast
 * stream. The broadcast states named by `broadcast(...descriptors)` are operator state in
 * broadcast mode, so every subtask snapshots its copy and each subtask of a restore, at any
 * parallelism, gets one whole (operator-state-repartition.ts).
 *
 * Each subtask holds its own copy and sees the broadcast records in the order the broadcasting
 * subtask sent them, but interleaved with its own data records as they happen to arrive, as in
 * Flink: a function that must give the same answer everywhere writes broadcast state only from
 * broadcast records, which the read-only view in processElement and onTimer enforces.
 */
import { UserError } from '../../errors.ts';
import type { BroadcastState } from '../state/operator-state-store.ts';
import type { MapStateDescriptor } from '../state/state-descriptors.ts';
import type { OperatorSetup } from '../runtime/stream-operator.ts';
import type {
  BroadcastProcessFunction,
  KeyedBroadcastContext,
  KeyedBroadcastOnTimerContext,
  KeyedBroadcastProcessFunction,
  KeyedStateDescriptor,
  ReadOnlyBroadcastState,
  StateFor,
} from './broadcast-process-function.ts';
import type { Collector } from './functions.ts';
import type { RuntimeContext } from './runtime-context.ts';
import { NO_CURRENT_KEY_REASON } from './stream-graph.ts';
import { TimerOperator, type TimerFunction, type TimerFunctionContext } from './timer-operator.ts';

type AnyBroadcastFunction = KeyedBroadcastProcessFunction<unknown, unknown, unknown, unknown> | BroadcastProcessFunction<unknown, unknown, unknown>;
type Broadcasts = ReadonlyMap<string, BroadcastState<unknown, unknown>>;

/** processElement's and onTimer's context, keyed or not: every member a keyed one has (non-keyed functions see fewer in their type). */
type ReadOnlyContext = KeyedBroadcastOnTimerContext<unknown>;
type WritableContext = KeyedBroadcastContext<unknown>;

export class BroadcastProcessOperator extends TimerOperator {
  #broadcasts: Broadcasts = new Map();
  #readOnly: Map<string, ReadOnlyBroadcastState<unknown, unknown>> = new Map();
  #watermark = Number.NEGATIVE_INFINITY;
  #setup!: OperatorSetup;
  readonly #readOnlyContext: ReadOnlyContext;
  readonly #writableContext: WritableContext;

  constructor(
    private readonly fn: AnyBroadcastFunction,
    private readonly descriptors: readonly MapStateDescriptor<unknown, unknown>[],
  ) {
    const timerContext: { current?: ReadOnlyContext } = {};
    super(lifecycleOf(fn, timerContext));
    const base: TimerFunctionContext = this.context;
    const self = this;
    this.#readOnlyContext = {
      get timestamp() {
        return base.timestamp;
      },
      currentProcessingTime: () => self.#setup.processingTime.now(),
      currentWatermark: () => self.#watermark,
      output: (tag, value) => base.output(tag, value),
      getBroadcastState: <K, V>(d: MapStateDescriptor<K, V>) => self.#lookup(self.#readOnly, d) as ReadOnlyBroadcastState<K, V>,
      getCurrentKey: () => base.getCurrentKey(),
      timerService: () => base.timerService(),
      timeDomain: () => base.timeDomain(),
    };
    this.#writableContext = {
      get timestamp() {
        return base.timestamp;
      },
      currentProcessingTime: () => self.#setup.processingTime.now(),
      currentWatermark: () => self.#watermark,
      output: (tag, value) => base.output(tag, value),
      getBroadcastState: <K, V>(d: MapStateDescriptor<K, V>) => self.#lookup(self.#broadcasts, d) as BroadcastState<K, V>,
      applyToKeyedState: (d, visit) => self.#applyToKeyedState(d, visit),
    };
    timerContext.current = this.#readOnlyContext;
  }

  override async open(setup: OperatorSetup): Promise<void> {
    this.#setup = setup;
    // Registered before the function runs, as Flink does, so a state with no entries yet is still
    // snapshotted (and restored) under its name.
    const broadcasts = new Map<string, BroadcastState<unknown, unknown>>();
    for (const d of this.descriptors) {
      const state = setup.context.operatorState.getBroadcastState<unknown, unknown>(d.name, d.schemaVersion === undefined ? {} : { schemaVersion: d.schemaVersion });
      broadcasts.set(d.name, state);
      this.#readOnly.set(d.name, readOnlyView(d.name, state));
    }
    this.#broadcasts = broadcasts;
    await super.open(setup);
  }

  protected processElement(value: unknown, input: number): void | Promise<void> {
    if (input === 0) return this.fn.processElement(value, this.#readOnlyContext, this.collector);
    return this.fn.processBroadcastElement(value, this.#writableContext, this.collector);
  }

  override processWatermark(timestamp: number): Promise<void> {
    this.#watermark = timestamp;
    return super.processWatermark(timestamp);
  }

  #lookup<S>(states: ReadonlyMap<string, S>, descriptor: MapStateDescriptor<unknown, unknown>): S {
    const state = states.get(descriptor.name);
    if (state === undefined) {
      const known = [...states.keys()].map((n) => `'${n}'`).join(', ') || 'none';
      throw new UserError(
        `operator '${this.#setup.context.operatorUid}': broadcast state '${descriptor.name}' does not exist (declared: ${known}); pass its descriptor to stream.broadcast(...)`,
      );
    }
    return state;
  }

  #applyToKeyedState<D extends KeyedStateDescriptor>(descriptor: D, visit: (key: unknown, state: StateFor<D>) => void): void {
    const keyed = this.#setup.keyedBackend;
    if (keyed === undefined) throw new UserError(`operator '${this.#setup.context.operatorUid}': applyToKeyedState needs a keyed stream: keyBy(...).connect(broadcastStream)`);
    const state = userHandle(this.#setup.context, descriptor) as StateFor<D>;
    // Collected first: the backends' key iteration must not see the state change under it.
    const keys = [...keyed.keys(descriptor.name)];
    try {
      for (const key of keys) {
        keyed.setCurrentKey(key);
        const result: unknown = visit(key, state);
        // The current key moves on at once: an awaited function would touch another key's state.
        if (result instanceof Promise) {
          throw new UserError(`operator '${this.#setup.context.operatorUid}': the function given to applyToKeyedState returned a promise; it must be synchronous (as Flink's KeyedStateFunction)`);
        }
      }
    } finally {
      keyed.clearCurrentKey(NO_CURRENT_KEY_REASON);
    }
  }
}

/** The user's handle for a keyed state, through the runtime context (and so the TTL layer), as processElement would get it. */
function userHandle(context: RuntimeContext, d: KeyedStateDescriptor): unknown {
  switch (d.kind) {
    case 'value':
      return context.getState(d);
    case 'list':
      return context.getListState(d);
    case 'map':
      return context.getMapState(d);
    case 'reducing':
      return context.getReducingState(d);
    case 'aggregating':
      return context.getAggregatingState(d);
  }
}

/** The function's lifecycle for TimerOperator, with onTimer given the broadcast read-only context. */
function lifecycleOf(fn: AnyBroadcastFunction, timerContext: { readonly current?: ReadOnlyContext }): TimerFunction {
  const keyed = fn as KeyedBroadcastProcessFunction<unknown, unknown, unknown, unknown>;
  return {
    open: (context) => fn.open?.(context),
    close: () => fn.close?.(),
    initializeState: (context) => fn.initializeState?.(context),
    snapshotState: (context) => fn.snapshotState?.(context),
    notifyCheckpointComplete: (id) => fn.notifyCheckpointComplete?.(id),
    notifyCheckpointAborted: (id) => fn.notifyCheckpointAborted?.(id),
    ...(keyed.onTimer === undefined ? {} : { onTimer: (timestamp: number, _context: TimerFunctionContext, out: Collector<unknown>) => keyed.onTimer!(timestamp, timerContext.current!, out) }),
  };
}

/** Reads pass through; writes throw, as Flink's ReadOnlyBroadcastState has none (for callers that cast). */
function readOnlyView(name: string, state: BroadcastState<unknown, unknown>): ReadOnlyBroadcastState<unknown, unknown> {
  const refuse = (): never => {
    throw new UserError(`broadcast state '${name}' is read-only in processElement and onTimer (as in Flink): change it in processBroadcastElement, which every subtask runs alike`);
  };
  return {
    get: (k) => state.get(k),
    contains: (k) => state.contains(k),
    immutableEntries: () => state.entries(),
    keys: () => state.keys(),
    values: () => state.values(),
    isEmpty: () => state.isEmpty(),
    ...{ put: refuse, putAll: refuse, remove: refuse, clear: refuse },
  };
}
