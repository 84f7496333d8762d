/**
 * The broadcast-state example (examples/transaction-limits.ts): its plan through the real
 * `flink info` (the rules reach the checker by the broadcast partitioner, the transactions by
 * key), and its LimitChecker in a job whose phases are fixed (rules on every subtask, then half
 * the transactions, then the reset rule, then the rest), so its breaches are computed directly:
 * every transaction above a limit breaches it, and each user's count restarts after the reset.
 */
import { describe, expect, it } from 'vitest';
import { heldAfter } from '../../fixtures/jobs/fail-injection.ts';
import { type Breach, LimitChecker, type Rule, type Transaction, limits, transaction } from '../../examples/transaction-limits.ts';
import type { Collector } from '../../src/engine/api/functions.ts';
import type { KeyedBroadcastContext, KeyedBroadcastReadOnlyContext, Source } from '../../src/index.ts';
import { DataGeneratorSource, StreamExecutionEnvironment } from '../../src/index.ts';
import { ROOT, runFlink } from '../support/run-flink.ts';

const RECORDS = 2_000;
const BEFORE_RESET = 1_200;
const RULES: Rule[] = [{ name: 'large', max: 900 }, { name: 'huge', max: 990 }, 'reset'];
const PARALLELISM = 3;

const transactions = (): DataGeneratorSource<Transaction> => new DataGeneratorSource({ count: RECORDS, seed: 3, splits: 1, generate: transaction });

async function allTransactions(): Promise<Transaction[]> {
  const source: Source<Transaction> = transactions();
  const reader = source.createReader({ subtaskIndex: 0, parallelism: 1 });
  reader.addSplits(source.createSplits(1));
  const out: Transaction[] = [];
  for (let done = false; !done; ) {
    const r = await reader.poll(100_000);
    for (const rec of r.records) out.push(rec.value);
    done = r.done;
  }
  return out;
}

describe('examples/transaction-limits.ts', () => {
  it('flink info: rules broadcast, transactions hashed, into Co-Process-Broadcast-Keyed', async () => {
    const result = await runFlink(['info', '--json', '-p', '2', 'examples/transaction-limits.ts'], { cwd: ROOT });
    expect(result.code, result.stderr).toBe(0);
    expect(JSON.parse(result.stdout)).toEqual({
      nodes: [
        { id: 1, type: 'Source: rules', pact: 'Data Source', contents: 'Source: rules', parallelism: 1 },
        { id: 2, type: 'Source: transactions', pact: 'Data Source', contents: 'Source: transactions', parallelism: 2 },
        {
          id: 3,
          type: 'Co-Process-Broadcast-Keyed',
          pact: 'Operator',
          contents: 'Co-Process-Broadcast-Keyed',
          parallelism: 2,
          predecessors: [
            { id: 2, ship_strategy: 'HASH', side: 'second' },
            { id: 1, ship_strategy: 'BROADCAST', side: 'second' },
          ],
        },
        { id: 4, type: 'Sink: Sink', pact: 'Data Sink', contents: 'Sink: Sink', parallelism: 2, predecessors: [{ id: 3, ship_strategy: 'FORWARD', side: 'second' }] },
      ],
    });
  });

  it('counts each user’s breaches of every broadcast limit, and starts over after the reset rule', async () => {
    const seen = { limits: 0, resets: 0, transactions: 0 };
    class Counted extends LimitChecker {
      override processElement(t: Transaction, ctx: KeyedBroadcastReadOnlyContext<string>, out: Collector<Breach>): void {
        super.processElement(t, ctx, out);
        seen.transactions++;
      }
      override processBroadcastElement(rule: Rule, ctx: KeyedBroadcastContext<string>): void {
        super.processBroadcastElement(rule, ctx);
        if (rule === 'reset') seen.resets++;
        else seen.limits++;
      }
    }
    const breaches: Breach[] = [];
    const env = StreamExecutionEnvironment.getExecutionEnvironment().setParallelism(PARALLELISM);
    const rules = env
      .fromSource(heldAfter(new DataGeneratorSource({ count: RULES.length, splits: 1, generate: (i) => RULES[i]! }), 2, () => seen.transactions < BEFORE_RESET), 'rules')
      .setParallelism(1)
      .broadcast(limits);
    const held = heldAfter(
      heldAfter(transactions(), 0, () => seen.limits < 2 * PARALLELISM),
      BEFORE_RESET,
      () => seen.resets < PARALLELISM,
    );
    env
      .fromSource(held, 'transactions')
      .setParallelism(1)
      .keyBy((t) => t.user)
      .connect(rules)
      .process(() => new Counted())
      .sinkTo({ invoke: (b: Breach) => void breaches.push(b) });
    await env.execute('transaction limits');

    const all = await allTransactions();
    const expected: Breach[] = [];
    const counts = new Map<string, number>();
    all.forEach((t, i) => {
      if (i === BEFORE_RESET) counts.clear();
      for (const [rule, max] of [['large', 900], ['huge', 990]] as const) {
        if (t.amount <= max) continue;
        const n = (counts.get(t.user) ?? 0) + 1;
        counts.set(t.user, n);
        expected.push({ user: t.user, amount: t.amount, rule, breaches: n });
      }
    });
    const line = (b: Breach): string => `${b.user} ${b.amount} ${b.rule} #${b.breaches}`;
    expect(expected.length).toBeGreaterThan(100);
    expect(breaches.map(line).sort()).toEqual(expected.map(line).sort());
  });
});

