/**
 * The broadcast state pattern, as in Flink's documentation: limit rules are broadcast to every
 * subtask of a keyed operator, each user's transactions are checked against every rule it has
 * seen, and the user's breaches are counted in keyed state. A `reset` rule clears every user's
 * count through applyToKeyedState. Which transactions a subtask checks before a rule reaches it
 * depends on timing, as in Flink (the two inputs are not ordered against each other).
 *
 * Run it: flink run examples/transaction-limits.ts [records]
 */
import {
  type Collector,
  DataGeneratorSource,
  type KeyedBroadcastContext,
  type KeyedBroadcastProcessFunction,
  type KeyedBroadcastReadOnlyContext,
  PrintSink,
  type RuntimeContext,
  type StreamExecutionEnvironment,
  type ValueState,
  mapState,
  valueState,
} from '../src/index.ts';

export interface Transaction {
  readonly user: string;
  readonly amount: number;
}

/** A limit (transactions above `max` breach it), or `reset`: forget every user's breaches. */
export type Rule = { readonly name: string; readonly max: number } | 'reset';

export interface Breach {
  readonly user: string;
  readonly amount: number;
  readonly rule: string;
  /** The user's breaches so far, this one included. */
  readonly breaches: number;
}

/** The broadcast state: rule name -> max amount, the same on every subtask. */
export const limits = mapState<string, number>('limits');
const breachCount = valueState<number>('breaches');

export class LimitChecker implements KeyedBroadcastProcessFunction<string, Transaction, Rule, Breach> {
  private breaches!: ValueState<number>;

  open(ctx: RuntimeContext): void {
    this.breaches = ctx.getState(breachCount);
  }

  processElement(t: Transaction, ctx: KeyedBroadcastReadOnlyContext<string>, out: Collector<Breach>): void {
    for (const [rule, max] of ctx.getBroadcastState(limits).immutableEntries()) {
      if (t.amount <= max) continue;
      const breaches = (this.breaches.value() ?? 0) + 1;
      this.breaches.update(breaches);
      out.collect({ user: ctx.getCurrentKey(), amount: t.amount, rule, breaches });
    }
  }

  processBroadcastElement(rule: Rule, ctx: KeyedBroadcastContext<string>): void {
    if (rule === 'reset') ctx.applyToKeyedState(breachCount, (_user, count) => count.clear());
    else ctx.getBroadcastState(limits).put(rule.name, rule.max);
  }
}

/** Transaction `i` of the example's generator (20 users, amounts 0-999). */
export const transaction = (_i: number, random: () => number): Transaction => ({ user: `user-${Math.floor(random() * 20)}`, amount: Math.floor(random() * 1000) });

export default (env: StreamExecutionEnvironment, args: string[]): void => {
  const records = Number(args[0] ?? 10_000);
  const rules: Rule[] = [{ name: 'large', max: 900 }, { name: 'huge', max: 990 }, 'reset'];
  const ruleStream = env
    .fromSource(new DataGeneratorSource({ count: rules.length, splits: 1, generate: (i) => rules[i]! }), 'rules')
    .uid('rules')
    .setParallelism(1)
    .broadcast(limits);
  env
    .fromSource(
      new DataGeneratorSource({ count: records, seed: 3, generate: transaction }),
      'transactions',
    )
    .uid('transactions')
    .keyBy((t) => t.user)
    .connect(ruleStream)
    .process(() => new LimitChecker())
    .uid('limit-checker')
    .sinkTo(new PrintSink<Breach>())
    .uid('breaches');
};
