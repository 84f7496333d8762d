/**
 * One parallel instance of a chain: it owns the chain's operators, their state backends and its
 * output edges, and runs a single loop that reads input (or polls the source), runs mail between
 * records, and takes its part of each checkpoint: snapshot at the barrier, forward the barrier,
 * then write the state asynchronously while records keep flowing.
 */
import { setImmediate as yieldToEventLoop } from 'node:timers/promises';
import type { WrittenFile } from '../../format/data-file-writer.ts';
import { rangeForSubtask } from '../../format/key-groups.ts';
import type { TaskDeclineReason } from '../checkpoint/failure-counter.ts';
import type { SnapshotReader } from '../../format/snapshot-reader.ts';
import type { ObjectStore } from '../../storage/object-store.ts';
import { createRuntimeContext } from '../api/runtime-context.ts';
import { NO_CURRENT_KEY, NO_CURRENT_KEY_REASON } from '../api/stream-graph.ts';
import type { Source, SourceReader } from '../api/source.ts';
import { createKeyedStateBackend } from '../state/create-keyed-state-backend.ts';
import type { KeyedStateBackend } from '../state/keyed-state-backend.ts';
import { OperatorStateStore, type OperatorStatePartition } from '../state/operator-state-store.ts';
import type { SubtaskRestorePlan } from '../state/restore-plan.ts';
import { restoreKeyedState, restoreOperatorState } from '../state/restore-state.ts';
import { DEFAULT_STATE_BACKEND, type StateBackendOptions, type StateBackendType } from '../state/state-backend-type.ts';
import { TtlStates } from '../state/ttl/ttl-states.ts';
import type { KeyedStateBlocks } from '../state/write-keyed-snapshot.ts';
import { type ProcessingTimeClock, SYSTEM_CLOCK } from './clock.ts';
import { AbortedCheckpoints } from './aborted-checkpoints.ts';
import { SnapshottedCheckpoints } from './snapshotted-checkpoints.ts';
import { createBarrierHandler } from './barrier-handler.ts';
import type { ChannelReceiver } from './channel.ts';
import { InputGate } from './input-gate.ts';
import type { Chain, PlannedNode } from './job-plan.ts';
import { Mailbox } from './mailbox.ts';
import { MailboxProcessingTimeService } from './processing-time-service.ts';
import { BATCH_ELEMENTS, type RecordWriter } from './record-writer.ts';
import type { Barrier } from './stream-element.ts';
import type { Output, StreamOperator } from './stream-operator.ts';
import { type CapturedOperator, writeSubtaskSnapshot } from './write-subtask-snapshot.ts';
import { type LocalRecovery, localRootOf } from '../checkpoint/local-recovery.ts';
import { LocalSharedCopies } from '../checkpoint/local-shared-copies.ts';
import { sharedFileOwner } from '../checkpoint/shared-paths.ts';
import { ChainBook, chainsFromMetadata } from '../checkpoint/chain-book.ts';
import { chainName } from './vertex-names.ts';

export interface CheckpointTarget {
  readonly checkpointId: number;
  readonly savepoint: boolean;
  /** Rooted at the snapshot directory. */
  readonly store: ObjectStore;
  /** An incremental checkpoint (never a savepoint): where its data file goes instead of `store`. */
  readonly shared?: SharedTarget;
  /**
   * A native savepoint (`--type native`): with incremental checkpoints, the subtask writes its
   * delta on the last confirmed checkpoint into `store` and acknowledges the shared files its
   * chains refer to (`SubtaskAck.native`); without, the same full file as a canonical one.
   */
  readonly native?: boolean;
}

/**
 * Incremental checkpoints (FORMAT.md version 3): a subtask's data file goes into
 * `<checkpoint root>/<jobId>/shared/`, named by its path relative to the checkpoint root.
 */
export interface SharedTarget {
  /** Rooted at the checkpoint root (the snapshot directory's grandparent). */
  readonly store: ObjectStore;
  /** `<jobId>/shared/`: the keys of shared files under `store`, as `_metadata` names them. */
  readonly dir: string;
  /** `flink checkpoint --full`: every key group written whole (a new base for the chains). */
  readonly full: boolean;
}

export interface SubtaskAck {
  readonly checkpointId: number;
  readonly chain: number;
  readonly subtask: number;
  /** The subtask's data file; in an incremental checkpoint its path is relative to the checkpoint root (in `<jobId>/shared/`). */
  readonly file: WrittenFile;
  /**
   * Incremental checkpoints: `file` is shared, and the keyed blocks also refer to these shared
   * files of earlier checkpoints (paths relative to the checkpoint root).
   */
  readonly shared?: { readonly referred: readonly WrittenFile[] };
  /**
   * A native savepoint of an incremental job: `file` lies in the savepoint directory, and the
   * keyed blocks also refer to these shared files (paths relative to the checkpoint root), which
   * the coordinator copies into the savepoint directory before it writes `_metadata`.
   */
  readonly native?: { readonly referred: readonly WrittenFile[] };
  readonly operators: readonly {
    readonly uid: string;
    /** The keyed state backend (`state.backend.type`) of a keyed operator, recorded in `_metadata`. */
    readonly stateBackend?: string;
    readonly keyed: KeyedStateBlocks[];
    readonly operator: OperatorStatePartition[];
  }[];
  /**
   * Flink's `checkpoint_duration.sync`, ms: how long the barrier held the processing thread to
   * capture state (operators' `snapshotState`, the keyed backends' `snapshot()`, operator state).
   */
  readonly syncMs: number;
  /** Flink's `checkpoint_duration.async`, ms: from the capture to the data file written and closed. */
  readonly asyncMs: number;
}

export interface SubtaskHooks {
  /** The subtask's input ended and its operators finished; it now waits for the final checkpoint. */
  finished?(): void;
  /** Checkpoints triggered and not yet complete (a subtask that finishes late takes part in them). */
  pendingCheckpoints?(): readonly { readonly checkpointId: number; readonly savepoint: boolean }[];
  /** A promise where the snapshot's location must first come from another thread or process. */
  checkpointTarget(checkpointId: number): CheckpointTarget | undefined | Promise<CheckpointTarget | undefined>;
  acknowledge(ack: SubtaskAck): void;
  /** `why` undefined: Flink's CHECKPOINT_DECLINED. */
  decline(checkpointId: number, reason: unknown, why?: TaskDeclineReason): void;
}

export interface SubtaskSpec {
  readonly jobId: string;
  readonly chain: Chain;
  readonly index: number;
  readonly attempt: number;
  readonly mode: 'EXACTLY_ONCE' | 'AT_LEAST_ONCE';
  readonly inputs: readonly ChannelReceiver[];
  /** For each input channel, which input of the head operator it feeds (0, or 1 for connect). */
  readonly inputOfChannel?: readonly number[];
  readonly outputs: readonly RecordWriter[];
  readonly hooks: SubtaskHooks;
  /** Whether the job takes periodic checkpoints (then sinks commit their last transaction on the final one). */
  readonly checkpointing?: boolean;
  /** Where keyed state lives (`state.backend.type`); hashmap when not given. */
  readonly stateBackend?: StateBackendType;
  /** Working directories and cache of the on-disk backends. */
  readonly stateBackendOptions?: StateBackendOptions;
  /** Processing time for state TTL and processing-time timers; Date.now when not given. */
  readonly clock?: ProcessingTimeClock;
  readonly restore?: { readonly reader: SnapshotReader; readonly plans: ReadonlyMap<string, SubtaskRestorePlan> };
  /** For a source chain started without a snapshot of it: this subtask's initial splits. */
  readonly initialSplits?: readonly unknown[];
  /** Local recovery (`execution.checkpointing.local-backup.enabled`): where checkpoint files are also copied. */
  readonly localRecovery?: LocalRecovery;
  /**
   * `execution.checkpointing.incremental`: backends track changed keys. `buildOnRestore`: the
   * restored checkpoint's chains are the first base (the job's own failover, or `claim`);
   * otherwise the first checkpoint is full.
   */
  readonly incremental?: { readonly buildOnRestore: boolean };
}

export class CancelledError extends Error {
  override readonly name: string = 'CancelledError';
}

const SPLITS_STATE = 'source-splits';
/** At most this long of a source loop without a turn of the event loop. */
const EVENT_LOOP_TURN_MS = 5;

interface Member {
  readonly planned: PlannedNode;
  readonly operator: StreamOperator | undefined;
  readonly keyed: KeyedStateBackend | undefined;
  /** The TTL layer over `keyed`: where the member's user-facing keyed handles come from. */
  readonly ttl: TtlStates | undefined;
  readonly operatorState: OperatorStateStore;
  restored: boolean;
  /** Incremental checkpoints of a keyed member: its chains across checkpoints. */
  book: ChainBook | undefined;
}

export class Subtask {
  readonly mailbox = new Mailbox();
  readonly #processingTime: MailboxProcessingTimeService;
  readonly #members: Member[];
  #reader: SourceReader<unknown> | undefined;
  #pending: Promise<void>[] = [];
  #cancelled = false;
  #released = false;
  /** The last snapshot started, and the savepoints among them whose notifications never move a chain's base. */
  readonly #snapshotted = new SnapshottedCheckpoints();
  /** Aborted before this subtask started its part: their triggers and barriers snapshot nothing. */
  readonly #aborted = new AbortedCheckpoints();
  #outputs: Output[] = [];
  /** Records into and out of each member of the chain (Flink's numRecordsIn / numRecordsOut). */
  readonly #recordsIn: number[];
  readonly #recordsOut: number[];
  /** The operators of the chain that can refuse input for a while (Async I/O), usually none. */
  readonly #throttling: StreamOperator[];
  /** Local recovery of incremental checkpoints: this subtask's copies of shared files. */
  readonly #localShared: LocalSharedCopies | undefined;

  constructor(private readonly spec: SubtaskSpec) {
    const { chain, index } = spec;
    this.#localShared =
      spec.localRecovery === undefined || spec.incremental === undefined ? undefined : new LocalSharedCopies(localRootOf(spec.localRecovery), spec.jobId, sharedFileOwner(chain.nodes[0]!.uid, index));
    const clock = spec.clock ?? SYSTEM_CLOCK;
    this.#processingTime = new MailboxProcessingTimeService(this.mailbox, clock);
    this.#recordsIn = chain.nodes.map(() => 0);
    this.#recordsOut = chain.nodes.map(() => 0);
    this.#members = chain.nodes.map((planned) => {
      const keyed = planned.node.keyOf === undefined ? undefined : this.#createKeyedBackend(planned);
      const ttl = keyed === undefined ? undefined : new TtlStates(keyed, clock);
      return { planned, operator: planned.node.createOperator?.(), keyed, ttl, operatorState: new OperatorStateStore(`${planned.uid} subtask ${index}`, planned.uid), restored: false, book: undefined };
    });
    this.#throttling = this.#members.flatMap((m) => (m.operator?.isAvailable === undefined && m.operator?.inFlight === undefined ? [] : [m.operator]));
  }

  /**
   * The member's keyed backend, of the job's type. An on-disk one makes its working directory
   * under the configured local directory, named after job, operator, subtask and attempt.
   */
  #createKeyedBackend(planned: PlannedNode): KeyedStateBackend {
    const { index, stateBackendOptions: o = {} } = this.spec;
    const type = this.spec.stateBackend ?? DEFAULT_STATE_BACKEND;
    const localDir = type === 'rocksdb' ? o.rocksdbLocalDir : type === 'lmdb' ? o.lmdbLocalDir : undefined;
    return createKeyedStateBackend(type, {
      keyGroupRange: rangeForSubtask(index, planned.parallelism, planned.maxParallelism),
      maxParallelism: planned.maxParallelism,
      owner: `${planned.uid} subtask ${index}`,
      operatorUid: planned.uid,
      scope: `${this.spec.jobId}-${planned.uid}-${index}-attempt-${this.spec.attempt}`,
      ...(localDir === undefined ? {} : { localDir }),
      ...(o.cacheBytes === undefined ? {} : { cacheBytes: o.cacheBytes }),
      ...(o.timerService === undefined ? {} : { timerService: o.timerService }),
    });
  }

  /** 0-based, as Flink's subtask index. */
  get index(): number {
    return this.spec.index;
  }

  get chainId(): number {
    return this.spec.chain.id;
  }

  /** A source chain: barriers start here. */
  get isSource(): boolean {
    return this.spec.chain.isSource;
  }

  get name(): string {
    return `${chainName(this.spec.chain.nodes)} (${this.spec.index + 1}/${this.spec.chain.parallelism})`;
  }

  /** Runs to the end of input; rejects with the failure, or CancelledError after cancel(). */
  async run(): Promise<void> {
    let closed = false;
    try {
      await this.#open();
      if (this.spec.chain.isSource) {
        await this.#runSource();
        // A bounded source has ended: event time is over (Flink's MAX_WATERMARK), so every
        // event-time timer and window of the chain fires. Input chains get it from their gate.
        if (!this.#eventTimeEnded) {
          this.#eventTimeEnded = true;
          this.#watermark(0, Number.POSITIVE_INFINITY);
          await this.#afterRecord();
        }
      } else await this.#runInputs();
      // Before timers are quiesced: Async I/O's requests may still time out while they finish.
      await this.#awaitInFlight();
      this.#checkCancelled();
      // As Flink when a task finishes: processing-time timers not yet due do not fire.
      this.#processingTime.quiesce();
      for (const m of this.#members) await m.operator?.finish?.();
      await this.#drainPending();
      for (const w of this.spec.outputs) w.broadcast({ kind: 'end-of-input' });
      await this.#flush();
      for (const w of this.spec.outputs) w.close();
      // A finished subtask stays until the job releases it (Flink's checkpoints after tasks
      // finish, FLIP-147): its final state belongs in every later checkpoint or savepoint, and
      // with checkpointing its sinks commit their last transaction on the final checkpoint.
      await this.#runFinished();
      closed = true;
      for (const m of this.#members) await m.operator?.close?.();
    } finally {
      this.#processingTime.quiesce();
      if (!closed) await this.#closeAfterFailure();
      await this.#disposeBackends(!closed);
    }
  }

  /**
   * After the operators closed, in every case: an on-disk backend gives back its files. A
   * snapshot still being written keeps what it reads until released (KeyedStateBackend.dispose).
   */
  async #disposeBackends(failed: boolean): Promise<void> {
    for (const m of this.#members) {
      try {
        await m.keyed?.dispose();
      } catch (err) {
        // As for close after a failure: the failure that ended the attempt is what is reported.
        if (!failed) throw err;
      }
    }
  }

  /**
   * A failed or cancelled attempt closes its operators too (Flink calls close() in every case,
   * finish() only at the end of input), so user functions and sinks release what they hold:
   * connections, handles, timers. An error from close is dropped: the failure that ended the
   * attempt is the one to report.
   */
  async #closeAfterFailure(): Promise<void> {
    for (const m of this.#members) {
      try {
        await m.operator?.close?.();
      } catch {
        // the attempt's own failure is what the restart strategy and the user see
      }
    }
  }

  /** Records in and out per operator of the chain, counted since this attempt started. */
  recordCounts(): { readonly uid: string; readonly in: number; readonly out: number }[] {
    return this.#members.map((m, i) => ({ uid: m.planned.uid, in: this.#recordsIn[i]!, out: this.#recordsOut[i]! }));
  }

  /** MAX_WATERMARK has left this source chain (end of input, or stop --drain). */
  #eventTimeEnded = false;

  /** After the job's final checkpoint: a finished subtask may close and end. */
  release(): void {
    this.#released = true;
    this.mailbox.put(() => undefined);
  }

  /** Finished: answer checkpoints with the final state until released (or cancelled). */
  async #runFinished(): Promise<void> {
    this.spec.hooks.finished?.();
    // Oldest first: a snapshot older than the last one started is skipped as out of order.
    const pending = [...(this.spec.hooks.pendingCheckpoints?.() ?? [])].sort((a, b) => a.checkpointId - b.checkpointId);
    for (const p of pending) await this.#checkpoint(p);
    while (!this.#released) {
      this.#checkCancelled();
      await this.mailbox.signal();
      await this.#runMail();
    }
    this.#checkCancelled();
  }

  /**
   * Sources (between two polls) and finished subtasks: snapshot for checkpoint n. A finished
   * subtask has no inputs left to carry the barrier, so it is asked directly.
   */
  triggerCheckpoint(barrier: Barrier): void {
    this.mailbox.put(() => this.#checkpoint(barrier));
  }

  notifyCheckpointComplete(checkpointId: number): void {
    this.mailbox.put(async () => {
      const savepoint = this.#snapshotted.isSavepoint(checkpointId);
      this.#snapshotted.completed(checkpointId);
      if (!savepoint) {
        // The book confirms the backend's changes when its base moves (now, or once the chains are recorded).
        for (const m of this.#members) m.book?.confirm(checkpointId);
        // Not awaited: deleting files never holds up processing (prunes run one after another, and never reject).
        void this.#localShared?.confirmed(checkpointId);
      }
      for (const m of this.#members) await m.operator?.notifyCheckpointComplete?.(checkpointId);
    });
  }

  notifyCheckpointAborted(checkpointId: number): void {
    // Noted now, not as mail: a trigger already queued in the mailbox (behind a slow snapshot)
    // runs before this mail would, and must find it aborted (Flink runs this mail first).
    this.#aborted.notify(checkpointId);
    this.mailbox.put(async () => {
      this.#snapshotted.aborted(checkpointId);
      for (const m of this.#members) m.book?.abort(checkpointId);
      this.#localShared?.aborted(checkpointId);
      for (const m of this.#members) await m.operator?.notifyCheckpointAborted?.(checkpointId);
    });
  }

  cancel(): void {
    this.#cancelled = true;
    this.#processingTime.quiesce();
    this.mailbox.put(() => undefined); // wakes a loop that waits for input
  }

  async #open(): Promise<void> {
    const { restore, index, attempt } = this.spec;
    for (const [i, m] of this.#members.entries()) {
      const plan = restore?.plans.get(m.planned.uid);
      if (restore !== undefined && plan !== undefined && plan.snapshotUid !== null) {
        if (m.keyed !== undefined) await restoreKeyedState(restore.reader, plan, m.keyed);
        await restoreOperatorState(restore.reader, plan, m.operatorState);
        m.restored = true;
      }
      if (this.spec.incremental !== undefined && m.keyed !== undefined) m.book = this.#startTracking(m, restore?.reader, plan);
      const context = createRuntimeContext(
        { jobId: this.spec.jobId, operatorUid: m.planned.uid, taskName: m.planned.name, subtaskIndex: index, parallelism: m.planned.parallelism, maxParallelism: m.planned.maxParallelism, attemptNumber: attempt, checkpointingEnabled: this.spec.checkpointing === true },
        m.keyed,
        m.operatorState,
        m.ttl,
      );
      await m.operator?.open({
        context,
        output: this.#outputOf(i),
        isRestored: m.restored,
        processingTime: this.#processingTime,
        mailbox: this.mailbox,
        ...(m.keyed === undefined ? {} : { keyedBackend: m.keyed }),
      });
    }
    const head = this.#members[0]!;
    const source = head.planned.node.source as Source<unknown> | undefined;
    if (source !== undefined) {
      this.#reader = source.createReader({ subtaskIndex: index, parallelism: head.planned.parallelism });
      const splits = head.operatorState.getListState<unknown>(SPLITS_STATE);
      if (!head.restored) splits.update(this.spec.initialSplits ?? []);
      this.#reader.addSplits([...splits.get()]);
    }
  }

  /**
   * Incremental checkpoints: the member's chain book and the backend's change tracking start
   * from the restored checkpoint's chains when they can be built on (FORMAT.md version 3, shared
   * files, the same job's failover or `claim`), else from nothing (the first checkpoint is full).
   */
  #startTracking(m: Member, reader: SnapshotReader | undefined, plan: SubtaskRestorePlan | undefined): ChainBook {
    const metadata = reader?.metadata;
    const confirmChanges = (id: number): void => m.keyed?.confirmChanges?.(id);
    let book = new ChainBook(undefined, confirmChanges);
    if (this.spec.incremental?.buildOnRestore === true && metadata !== undefined && plan?.snapshotUid != null) {
      const range = rangeForSubtask(this.spec.index, m.planned.parallelism, m.planned.maxParallelism);
      const chains = chainsFromMetadata(metadata, plan.snapshotUid, range);
      book = ChainBook.fromRestore(metadata.checkpointId, chains, confirmChanges);
    }
    m.keyed?.trackChanges?.(book.base?.checkpointId);
    return book;
  }

  /** The output of member i, built once: a new object per record would be garbage per record. */
  #outputOf(i: number): Output {
    const built = this.#outputs[i];
    if (built !== undefined) return built;
    const output = this.#buildOutput(i);
    this.#outputs[i] = output;
    return output;
  }

  #buildOutput(i: number): Output {
    const out = this.#recordsOut;
    if (i + 1 < this.#members.length) {
      // The next member is chained to this one's main output, or to one of its side outputs;
      // the other outputs of this member have no consumer, so their records are dropped (as Flink's).
      const tag = this.#members[i + 1]!.planned.chainedSideOutput;
      const next = (value: unknown, timestamp: number | null): void => {
        out[i]! += 1;
        this.#process(i + 1, value, timestamp, 0);
      };
      const none = (): void => {
        out[i]! += 1;
      };
      return {
        collect: tag === undefined ? next : none,
        emitSideOutput: (t, value, timestamp) => (t === tag ? next(value, timestamp) : none()),
        emitWatermark: (t) => this.#watermark(i + 1, t),
      };
    }
    const main = this.spec.outputs.filter((w) => w.sideOutput === undefined);
    const side = new Map<string, RecordWriter[]>();
    for (const w of this.spec.outputs) if (w.sideOutput !== undefined) side.set(w.sideOutput, [...(side.get(w.sideOutput) ?? []), w]);
    return {
      collect: (value, timestamp) => {
        out[i]! += 1;
        for (const w of main) w.emit(value, timestamp);
      },
      emitSideOutput: (tag, value, timestamp) => {
        out[i]! += 1;
        const writers = side.get(tag);
        if (writers !== undefined) for (const w of writers) w.emit(value, timestamp);
      },
      emitWatermark: (timestamp) => {
        for (const w of this.spec.outputs) w.broadcast({ kind: 'watermark', timestamp });
      },
    };
  }

  /** `keyGroup`: the record's key group if its partitioner computed it (head of a keyed chain), else -1. */
  #process(i: number, value: unknown, timestamp: number | null, input: number, keyGroup = -1): void {
    const m = this.#members[i]!;
    if (m.operator === undefined) {
      this.#outputOf(i).collect(value, timestamp); // the source node itself passes records on
      return;
    }
    this.#recordsIn[i]! += 1;
    if (m.keyed !== undefined) {
      m.ttl!.onRecord();
      const key = m.planned.node.keyOf!(value, input);
      if (key === NO_CURRENT_KEY) m.keyed.clearCurrentKey(NO_CURRENT_KEY_REASON);
      else m.keyed.setCurrentKey(key, keyGroup);
    }
    const result = m.operator.processRecord(value, timestamp, input);
    if (result instanceof Promise) this.#pending.push(result);
  }

  #watermark(i: number, timestamp: number): void {
    const m = this.#members[i]!;
    if (m.operator === undefined) {
      this.#outputOf(i).emitWatermark(timestamp);
      return;
    }
    // Firing timers may be asynchronous: awaited (with records) before the next input element.
    const result = m.operator.processWatermark(timestamp);
    if (result instanceof Promise) this.#pending.push(result);
  }

  /** Whether anything after a record needs awaiting; most records need nothing (no promise churn). */
  #mustWait(): boolean {
    if (this.#pending.length > 0) return true;
    for (const w of this.spec.outputs) if (w.needsFlush) return true;
    return false;
  }

  async #afterRecord(): Promise<void> {
    await this.#drainPending();
    if (this.spec.outputs.some((w) => w.needsFlush)) await this.#flush();
  }

  /**
   * Waits for every asynchronous record, watermark and timer of the chain. A loop, because an
   * operator finishing asynchronously may pass a watermark on to the next one, which then adds
   * its own promise: nothing of the chain may still run when the next element is processed.
   */
  async #drainPending(): Promise<void> {
    while (this.#pending.length > 0) {
      const pending = this.#pending;
      this.#pending = [];
      await Promise.all(pending);
    }
  }

  async #flush(): Promise<void> {
    for (const w of this.spec.outputs) await w.flush();
  }

  async #runSource(): Promise<void> {
    const reader = this.#reader!; // #open created it for a source chain
    let turnDue = performance.now() + EVENT_LOOP_TURN_MS;
    for (;;) {
      // A source that always has records, chained to its sink, awaits only promises that are
      // already settled: without a turn of the event loop now and then, no timer (periodic
      // checkpoints, processing-time timers) and no caller's cancel could ever run.
      if (performance.now() >= turnDue) {
        await yieldToEventLoop();
        turnDue = performance.now() + EVENT_LOOP_TURN_MS;
      }
      if (this.mailbox.hasMail) await this.#runMail();
      this.#checkCancelled();
      if (this.#throttling.length > 0) await this.#awaitAvailable();
      // About one batch per poll: the flush after it then sends full batches.
      const { records, done } = await reader.poll(BATCH_ELEMENTS);
      // Indexed: an array iterator held across the awaits below is a real object, and its
      // results were 40 bytes a record of the source's allocations (V8's sampling heap profiler).
      for (let i = 0; i < records.length; i++) {
        const r = records[i]!;
        this.#process(0, r.value, r.timestamp, 0);
        if (this.#mustWait()) await this.#afterRecord();
      }
      await this.#flush();
      if (done) return;
    }
  }

  async #runInputs(): Promise<void> {
    const gate = new InputGate(this.spec.inputs, createBarrierHandler(this.spec.mode, this.spec.inputs.length));
    const inputOfChannel = this.spec.inputOfChannel;
    // A wait for input that lost the race against mail stays here, to be awaited again.
    let arrival: Promise<boolean> | undefined;
    for (;;) {
      if (this.mailbox.hasMail) await this.#runMail();
      this.#checkCancelled();
      if (this.#throttling.length > 0) await this.#awaitAvailable();
      // Buffered elements are processed without awaiting anything: most records need nothing.
      const event = gate.poll();
      if (event === undefined) {
        await this.#flush();
        arrival ??= gate.awaitInput().then(() => true);
        if (await Promise.race([arrival, this.mailbox.signal().then(() => false)])) arrival = undefined;
        continue;
      }
      switch (event.kind) {
        case 'record':
          this.#process(0, event.value, event.timestamp, inputOfChannel?.[event.channel] ?? 0, event.keyGroup);
          if (this.#mustWait()) await this.#afterRecord();
          break;
        case 'watermark':
          this.#watermark(0, event.timestamp);
          await this.#afterRecord();
          break;
        case 'checkpoint':
          await this.#checkpoint(event.barrier);
          break;
        case 'checkpoint-aborted':
          // Never snapshotted here: as Flink's abortCheckpointOnBarrier, declined, and cancelled
          // downstream, whose alignment would otherwise wait for a barrier that never comes.
          this.#aborted.start(event.checkpointId);
          // Flink's reasons for these two are not counted against tolerable-failed-checkpoints.
          if (event.cause === 'overtaken') this.spec.hooks.decline(event.checkpointId, new Error('checkpoint overtaken by a newer barrier'), 'declined-subsumed');
          else this.spec.hooks.decline(event.checkpointId, new Error('a cancellation of the checkpoint came from one of its inputs'), 'declined-on-cancellation-barrier');
          await this.#cancelDownstream(event.checkpointId);
          break;
        case 'end':
          return;
      }
    }
  }

  /**
   * Backpressure from an operator of the chain (Async I/O's full queue): no input is read, mail
   * (which brings the results that make room) runs as it arrives. Checkpoint mail of a source
   * may run here too: between two polls, as always.
   */
  async #awaitAvailable(): Promise<void> {
    while (!this.#throttling.every((o) => o.isAvailable?.() ?? true)) {
      await this.mailbox.signal();
      await this.#runMail();
      this.#checkCancelled();
    }
  }

  /** End of input: mail runs until no operator of the chain waits for results (Async I/O). */
  async #awaitInFlight(): Promise<void> {
    while (this.#throttling.some((o) => (o.inFlight?.() ?? 0) > 0)) {
      this.#checkCancelled();
      await this.mailbox.signal();
      await this.#runMail();
    }
  }

  /** Mail (timers among it) may emit records and run asynchronous operator code: wait for all of it. */
  async #runMail(): Promise<void> {
    if (!this.mailbox.hasMail) return;
    await this.mailbox.runAll();
    await this.#afterRecord();
  }

  /** The barrier: capture state synchronously, forward the barrier, write asynchronously. */
  async #checkpoint(barrier: Barrier): Promise<void> {
    // Cancelled: a trigger queued behind a long mail (a slow snapshotState) must not start a
    // snapshot nobody will take, nor hold the subtask's end back by as long again; as a cancelled
    // Flink task, it ends instead.
    this.#checkCancelled();
    // A finished subtask may be asked twice (pending when it finished, and triggered directly);
    // one older than the last started is out of order, skipped as in Flink.
    if (!this.#snapshotted.begin(barrier.checkpointId)) return;
    // Aborted (expired, declined, subsumed) before its trigger or barrier ran here: nothing to
    // snapshot (Flink's checkAndClearAbortedStatus). Triggers queued behind a snapshot slower than
    // the timeout would otherwise each take a snapshot as slow, for nothing. A stop --drain
    // savepoint's end of event time goes with it. The coordinator aborted it: nothing to decline.
    if (this.#aborted.start(barrier.checkpointId)) {
      await this.#cancelDownstream(barrier.checkpointId);
      return;
    }
    if (barrier.drain === true && this.spec.chain.isSource && !this.#eventTimeEnded) {
      this.#eventTimeEnded = true;
      // As Flink's stop --drain: event time ends before the savepoint, so every window fires
      // and its results are in the savepoint's transactions.
      this.#watermark(0, Number.POSITIVE_INFINITY);
      await this.#afterRecord();
    }
    await this.#drainPending();
    // The synchronous part (Flink's checkpoint_duration.sync): the time this subtask's own code
    // holds the thread at the barrier. Only synchronous stretches are counted: while an operator's
    // snapshotState awaits, other subtasks of the process may run, and their time is not ours.
    let syncMs = 0;
    for (const m of this.#members) {
      const start = performance.now();
      const pending = m.operator?.snapshotState?.(barrier.checkpointId);
      syncMs += performance.now() - start;
      await pending;
    }
    const captureStart = performance.now();
    if (this.#reader !== undefined) this.#members[0]!.operatorState.getListState<unknown>(SPLITS_STATE).update(this.#reader.snapshotSplits());
    if (barrier.savepoint) this.#snapshotted.savepoint(barrier.checkpointId);
    // A checkpoint's snapshot marks where its changes end (change tracking); a savepoint is never a base.
    const snapshotOptions = barrier.savepoint ? undefined : { checkpointId: barrier.checkpointId };
    const captured: CapturedOperator[] = this.#members.map((m) => ({
      uid: m.planned.uid,
      keyed: m.keyed?.snapshot(snapshotOptions),
      ttl: m.ttl?.snapshotLayout(),
      operator: m.operatorState.snapshot(),
      ...(m.keyed === undefined ? {} : { stateBackend: this.spec.stateBackend ?? DEFAULT_STATE_BACKEND }),
      ...(m.book === undefined ? {} : { book: m.book }),
    }));
    syncMs += performance.now() - captureStart;
    for (const w of this.spec.outputs) w.broadcast({ kind: 'barrier', barrier });
    await this.#flush();

    const target = this.spec.hooks.checkpointTarget(barrier.checkpointId);
    if (target === undefined) {
      for (const c of captured) c.keyed?.release();
      return; // aborted meanwhile: nothing to write
    }
    const { chain, index, hooks } = this.spec;
    void writeSubtaskSnapshot({ checkpointId: barrier.checkpointId, target, chain: { id: chain.id, headUid: chain.nodes[0]!.uid }, subtask: index, attempt: this.spec.attempt, captured, hooks, syncMs, localRecovery: this.spec.localRecovery, localShared: this.#localShared });
  }

  /** A cancel marker in place of barrier n, so that no subtask downstream aligns on n. */
  async #cancelDownstream(checkpointId: number): Promise<void> {
    for (const w of this.spec.outputs) w.broadcast({ kind: 'cancel-barrier', checkpointId });
    await this.#flush();
  }

  #checkCancelled(): void {
    if (this.#cancelled) throw new CancelledError(`${this.name} was cancelled`);
  }
}
