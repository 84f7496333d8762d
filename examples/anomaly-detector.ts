/**
 * The seeds' anomaly detector: per user, a profile of recent transactions (count and sum) kept in
 * keyed state with a TTL, so a user who has been quiet for `quietMs` is forgotten (the profile
 * expires, and is left out of checkpoints and savepoints) and starts over with no history. A
 * transaction larger than `factor` times the user's mean, once the profile has `minHistory`
 * transactions, is an alert.
 *
 * Run it: flink run examples/anomaly-detector.ts [records] [quietMs]
 */
import {
  type Collector,
  DataGeneratorSource,
  type DataStream,
  type KeyedProcessFunction,
  PrintSink,
  type RuntimeContext,
  type SingleOutputStreamOperator,
  StateTtlConfig,
  type StreamExecutionEnvironment,
  type ValueState,
  valueState,
} from '../src/index.ts';

export interface Transaction {
  readonly user: string;
  readonly amount: number;
}

export interface Alert {
  readonly user: string;
  readonly amount: number;
  /** The user's mean amount before this transaction. */
  readonly mean: number;
}

interface Profile {
  readonly count: number;
  readonly sum: number;
}

export interface DetectorOptions {
  /** How long a user may be quiet before the profile is forgotten; null: never (no TTL). */
  readonly quietMs: number | null;
  /** An amount above factor x mean is an anomaly. */
  readonly factor?: number;
  /** Transactions in the profile before anything is judged. */
  readonly minHistory?: number;
}

export const DEFAULT_QUIET_MS = 30 * 60_000;

/** Flink's StateTtlConfig for the profile: written transactions renew it, reads do not. */
export function profileTtl(quietMs: number): StateTtlConfig {
  return StateTtlConfig.newBuilder(quietMs).updateTtlOnCreateAndWrite().neverReturnExpired().cleanupFullSnapshot().build();
}

class AnomalyDetector implements KeyedProcessFunction<string, Transaction, Alert> {
  private profile!: ValueState<Profile>;

  constructor(private readonly options: DetectorOptions) {}

  open(ctx: RuntimeContext): void {
    const { quietMs } = this.options;
    this.profile = ctx.getState(valueState<Profile>('profile', { ttl: quietMs === null ? null : profileTtl(quietMs) }));
  }

  processElement(t: Transaction, _ctx: unknown, out: Collector<Alert>): void {
    const p = this.profile.value() ?? { count: 0, sum: 0 };
    const mean = p.count === 0 ? 0 : p.sum / p.count;
    if (p.count >= (this.options.minHistory ?? 3) && t.amount > (this.options.factor ?? 5) * mean) out.collect({ user: t.user, amount: t.amount, mean });
    this.profile.update({ count: p.count + 1, sum: p.sum + t.amount });
  }
}

/** The detector over a stream of transactions: keyed by user, operator uid `anomaly-detector`. */
export function detectAnomalies(transactions: DataStream<Transaction>, options: DetectorOptions): SingleOutputStreamOperator<Alert> {
  return transactions
    .keyBy((t) => t.user)
    .process(() => new AnomalyDetector(options))
    .uid('anomaly-detector');
}

export default (env: StreamExecutionEnvironment, args: string[]): void => {
  const records = Number(args[0] ?? 10_000);
  const quietMs = Number(args[1] ?? DEFAULT_QUIET_MS);
  const transactions = env
    .fromSource(
      new DataGeneratorSource({
        count: records,
        seed: 11,
        // Mostly small amounts, now and then a large one.
        generate: (_i, random): Transaction => ({ user: `user-${Math.floor(random() * 50)}`, amount: random() < 0.01 ? 500 + Math.floor(random() * 500) : 5 + Math.floor(random() * 20) }),
      }),
      'transactions',
    )
    .uid('transactions');
  detectAnomalies(transactions, { quietMs }).sinkTo(new PrintSink<Alert>()).uid('alerts');
};
