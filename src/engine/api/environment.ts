/**
 * Where a job is declared and configured (Flink's StreamExecutionEnvironment): parallelism,
 * checkpointing, restart strategy, state backend, the snapshot to start from; sources; and
 * `execute`.
 */
import { UserError } from '../../errors.ts';
import { type CheckpointConfig, defaultCheckpointConfig, validateCheckpointConfig } from '../checkpoint/checkpoint-config.ts';
import type { ClaimMode } from '../checkpoint/checkpoint-types.ts';
import { DataGeneratorSource } from '../connectors/data-generator-source.ts';
import { SocketTextSource } from '../connectors/socket-text-source.ts';
import { type ExecutionOptions, type JobClient, type JobResult, startLocally } from '../runtime/local-executor.ts';
import type { ProcessingTimeClock } from '../runtime/clock.ts';
import type { RestartStrategy } from '../runtime/restart-strategy.ts';
import { type BuiltStateBackendType, DEFAULT_STATE_BACKEND, type StateBackendType, parseStateBackendChoice, refuseUnbuiltStateBackend } from '../state/state-backend-type.ts';
import { SingleOutputStreamOperator } from './data-stream.ts';
import type { Source } from './source.ts';
import { StreamGraph } from './stream-graph.ts';

export class StreamExecutionEnvironment {
  readonly graph = new StreamGraph();
  #parallelism = 1;
  #maxParallelism: number | undefined;
  #checkpoint: CheckpointConfig = defaultCheckpointConfig;
  #restart: RestartStrategy | undefined;
  #stateBackend: BuiltStateBackendType = DEFAULT_STATE_BACKEND;
  #restoreFrom: string | undefined;
  #allowNonRestoredState = false;
  #claimMode: ClaimMode = 'NO_CLAIM';
  #clock: ProcessingTimeClock | undefined;

  static getExecutionEnvironment(): StreamExecutionEnvironment {
    return new StreamExecutionEnvironment();
  }

  setParallelism(parallelism: number): this {
    if (!Number.isSafeInteger(parallelism) || parallelism < 1) throw new UserError(`parallelism ${parallelism} is not a whole number >= 1`);
    this.#parallelism = parallelism;
    return this;
  }

  getParallelism(): number {
    return this.#parallelism;
  }

  setMaxParallelism(maxParallelism: number): this {
    this.#maxParallelism = maxParallelism;
    return this;
  }

  /** Periodic checkpoints every `interval` ms (Flink's enableCheckpointing). */
  enableCheckpointing(interval: number, mode: CheckpointConfig['mode'] = 'EXACTLY_ONCE'): this {
    return this.configureCheckpointing({ interval, mode });
  }

  configureCheckpointing(settings: Partial<CheckpointConfig>): this {
    this.#checkpoint = validateCheckpointConfig({ ...this.#checkpoint, ...settings });
    return this;
  }

  get checkpointConfig(): CheckpointConfig {
    return this.#checkpoint;
  }

  setRestartStrategy(strategy: RestartStrategy): this {
    this.#restart = strategy;
    return this;
  }

  /**
   * Where keyed state lives (Flink's setStateBackend, which takes a backend object; here its
   * `state.backend.type` name). Overrides the configuration, as code does in Flink. `rocksdb` and
   * `lmdb` are refused until they are built (UserError, exit 1).
   */
  setStateBackend(type: StateBackendType): this {
    // Checked at run time too: job files are often plain JS, or pass a string from elsewhere.
    const choice = parseStateBackendChoice('setStateBackend', String(type));
    this.#stateBackend = refuseUnbuiltStateBackend('setStateBackend', choice, String(type));
    return this;
  }

  getStateBackend(): BuiltStateBackendType {
    return this.#stateBackend;
  }

  /**
   * The processing-time clock of the job (Date.now by default): state TTL and processing-time
   * timers read it. For tests: `env.setProcessingTimeClock(manual.now)` with a ManualClock moves
   * TTL expiry without sleeping. Code, not configuration: no `-D` key sets it.
   */
  setProcessingTimeClock(clock: ProcessingTimeClock): this {
    if (typeof clock !== 'function') throw new UserError('setProcessingTimeClock takes a function that returns milliseconds since the epoch');
    this.#clock = clock;
    return this;
  }

  /**
   * Start from a savepoint or retained checkpoint (`flink run -s`). `claimMode` as
   * `flink run --claimMode`: `NO_CLAIM` (the default) never touches the snapshot; `CLAIM` hands it
   * to the job, which deletes it once newer checkpoints subsume it.
   */
  restoreFrom(path: string, options: { allowNonRestoredState?: boolean; claimMode?: ClaimMode } = {}): this {
    this.#restoreFrom = path;
    this.#allowNonRestoredState = options.allowNonRestoredState ?? false;
    this.#claimMode = options.claimMode ?? 'NO_CLAIM';
    return this;
  }

  fromSource<T>(source: Source<T>, name: string): SingleOutputStreamOperator<T> {
    const node = this.graph.add({ kind: 'source', name, inputs: [], source: source as Source<unknown> });
    return new SingleOutputStreamOperator<T>(this.graph, node);
  }

  /**
   * Lines of text from a TCP socket, split on `delimiter` (Flink's socketTextStream), for quick
   * experiments. Parallelism 1; ends when the server closes the connection. It cannot be replayed,
   * so with checkpointing it needs `execution.checkpointing.mode: AT_LEAST_ONCE` (refused under
   * exactly-once). For a replayable source, implement `Source` (see README, "Sources").
   */
  socketTextStream(hostname: string, port: number, delimiter = '\n'): SingleOutputStreamOperator<string> {
    return this.fromSource(new SocketTextSource({ host: hostname, port, delimiter }), 'Socket Stream').setParallelism(1);
  }

  /** A bounded source of the given elements, in order (one split per element). */
  fromElements<T>(...elements: T[]): SingleOutputStreamOperator<T> {
    return this.fromSource(new DataGeneratorSource({ count: elements.length, splits: Math.max(1, Math.min(elements.length, 16)), generate: (i) => elements[i] as T }), 'Elements');
  }

  /** Runs the job to its end (attached). */
  execute(jobName = 'tsflink job'): Promise<JobResult> {
    return this.executeAsync(jobName).result;
  }

  getMaxParallelism(): number | undefined {
    return this.#maxParallelism;
  }

  get restartStrategy(): RestartStrategy | undefined {
    return this.#restart;
  }

  /** Starts the job and returns at once with a client to savepoint, stop or cancel it (detached). */
  executeAsync(jobName = 'tsflink job'): JobClient {
    return startLocally(this.graph, this.executionOptions(jobName));
  }

  /** What `execute` runs the job with; a cluster worker adds its own (job id, resume, events). */
  executionOptions(jobName: string): ExecutionOptions {
    return {
      jobName,
      parallelism: this.#parallelism,
      ...(this.#maxParallelism === undefined ? {} : { maxParallelism: this.#maxParallelism }),
      checkpoint: this.#checkpoint,
      stateBackend: this.#stateBackend,
      ...(this.#clock === undefined ? {} : { clock: this.#clock }),
      ...(this.#restart === undefined ? {} : { restartStrategy: this.#restart }),
      ...(this.#restoreFrom === undefined ? {} : { restoreFrom: this.#restoreFrom, allowNonRestoredState: this.#allowNonRestoredState, claimMode: this.#claimMode }),
    };
  }
}
