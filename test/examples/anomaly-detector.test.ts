/**
 * The anomaly detector (examples/anomaly-detector.ts) forgets a user after a quiet period, across
 * a savepoint and a restore, on a processing-time clock the test moves (no sleeping): the
 * savepoint carries each profile's last-access time (format version 2), the restored job expires
 * the profile that has been quiet too long and keeps the other, a later savepoint leaves out
 * what expired (cleanupFullSnapshot), and restoring into the detector without TTL keeps the
 * profiles for good, as Flink 2.2 does.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Alert, DEFAULT_QUIET_MS, type Transaction, detectAnomalies } from '../../examples/anomaly-detector.ts';
import { SnapshotReader } from '../../src/format/snapshot-reader.ts';
import { LocalObjectStore } from '../../src/storage/local-store.ts';
import { type JobClient, ManualClock, type Source, type SourceReader, StreamExecutionEnvironment } from '../../src/index.ts';
import { tempDir } from '../support/temp-dir.ts';

const MINUTE = 60_000;
const T0 = Date.UTC(2026, 11, 1, 9, 0, 0);

/**
 * One split whose state is an offset into `feed`, which the test appends to: the source emits
 * what is there and waits for more, so the test decides what the job has seen before it moves
 * the clock or takes a savepoint. A restored reader goes on from its saved offset.
 */
function scripted(feed: Transaction[]): Source<Transaction> {
  return {
    bounded: false,
    createSplits: () => [0],
    createReader(): SourceReader<Transaction> {
      let offset: number | undefined;
      return {
        addSplits: (splits) => void (offset = splits[0] as number | undefined),
        snapshotSplits: () => (offset === undefined ? [] : [offset]),
        async poll(max) {
          if (offset === undefined || offset >= feed.length) {
            await new Promise((r) => setTimeout(r, 2));
            return { records: [], done: false };
          }
          const records = feed.slice(offset, offset + max).map((value) => ({ value, timestamp: null }));
          offset += records.length;
          return { records, done: false };
        },
      };
    },
  };
}

function start(clock: ManualClock, feed: Transaction[], alerts: Alert[], options: { quietMs: number | null; restoreFrom?: string }): JobClient {
  const env = StreamExecutionEnvironment.getExecutionEnvironment().setParallelism(2).setProcessingTimeClock(clock.now);
  if (options.restoreFrom !== undefined) env.restoreFrom(options.restoreFrom);
  const transactions = env.fromSource(scripted(feed), 'transactions').setParallelism(1).uid('transactions');
  detectAnomalies(transactions, { quietMs: options.quietMs })
    .map((a) => {
      alerts.push(a);
      return a;
    })
    .uid('alerts');
  return env.executeAsync('anomaly detector');
}

/** Waits until the detector has processed `n` transactions in this attempt. */
async function processed(client: JobClient, n: number): Promise<void> {
  for (let i = 0; i < 5000; i++) {
    if ((client.recordCounts().get('anomaly-detector')?.in ?? 0) >= n) return;
    if (client.status() === 'FAILED') break;
    await new Promise((r) => setTimeout(r, 5));
  }
  throw new Error(`the detector did not process ${n} transactions (status ${client.status()})`);
}

async function profiles(savepoint: string): Promise<Map<string, { value: unknown; lastAccess: number }>> {
  const reader = await SnapshotReader.open(new LocalObjectStore(savepoint));
  expect(reader.metadata.formatVersion).toBe(2);
  expect(reader.operator('anomaly-detector').stateBackend).toBe('hashmap');
  expect(reader.keyedState('anomaly-detector', 'profile').ttl).toEqual({ ttlMs: DEFAULT_QUIET_MS, update: 'OnCreateAndWrite', visibility: 'NeverReturnExpired' });
  const out = new Map<string, { value: unknown; lastAccess: number }>();
  for await (const batch of reader.readKeyed('anomaly-detector', 'profile')) {
    batch.keys.forEach((k, i) => {
      const [value, lastAccess] = batch.values[i] as [unknown, number];
      out.set(k as string, { value, lastAccess });
    });
  }
  return out;
}

const txns = (user: string, ...amounts: number[]): Transaction[] => amounts.map((amount) => ({ user, amount }));

let dir: Awaited<ReturnType<typeof tempDir>>;
beforeAll(async () => {
  dir = await tempDir('tsflink-anomaly-');
});
afterAll(async () => {
  await dir.remove();
});

describe('anomaly detector with state TTL', () => {
  it('forgets a quiet user through a savepoint and a restore, with a clock the test moves', async () => {
    // Run 1: alice builds a history at T0, bob 20 minutes later; then a savepoint.
    const feed: Transaction[] = [];
    const alerts: Alert[] = [];
    const clock = new ManualClock(T0);
    const first = start(clock, feed, alerts, { quietMs: DEFAULT_QUIET_MS });
    feed.push(...txns('alice', 10, 12, 8, 10));
    await processed(first, 4);
    clock.advance(20 * MINUTE);
    feed.push(...txns('bob', 20, 20, 20), ...txns('alice', 500)); // alice: 500 > 5 x 10, an alert
    await processed(first, 8);
    const savepoint = await first.stopWithSavepoint(dir.path);
    await first.result;
    expect(alerts).toEqual([{ user: 'alice', amount: 500, mean: 10 }]);
    const saved = await profiles(savepoint);
    expect(saved.get('alice')).toEqual({ value: { count: 5, sum: 540 }, lastAccess: T0 + 20 * MINUTE });
    expect(saved.get('bob')).toEqual({ value: { count: 3, sum: 60 }, lastAccess: T0 + 20 * MINUTE });

    // Run 2, restored at T0 + 45: both profiles are 25 minutes old and live. Bob comes back (his
    // profile renewed), then 29 minutes pass: alice has been quiet for 54 minutes and is
    // forgotten, bob for 29 and is not. Alice's large amount is judged without history; bob's is
    // judged against his restored one.
    const alerts2: Alert[] = [];
    const clock2 = new ManualClock(T0 + 45 * MINUTE);
    const second = start(clock2, feed, alerts2, { quietMs: DEFAULT_QUIET_MS, restoreFrom: savepoint });
    feed.push(...txns('bob', 25)); // 25 < 5 x 20: no alert
    await processed(second, 1);
    clock2.advance(29 * MINUTE);
    feed.push(...txns('alice', 1000), ...txns('bob', 900));
    await processed(second, 3);
    expect(alerts2).toEqual([{ user: 'bob', amount: 900, mean: 85 / 4 }]);

    // A savepoint now holds alice's new profile and bob's long one; after another quiet period,
    // none at all (cleanupFullSnapshot leaves expired profiles out).
    const kept = await profiles(await second.triggerSavepoint(dir.path));
    expect(kept.get('alice')).toEqual({ value: { count: 1, sum: 1000 }, lastAccess: T0 + 74 * MINUTE });
    expect(kept.get('bob')).toEqual({ value: { count: 5, sum: 985 }, lastAccess: T0 + 74 * MINUTE });
    clock2.advance(DEFAULT_QUIET_MS);
    const emptied = await profiles(await second.stopWithSavepoint(dir.path));
    await second.result;
    expect(emptied.size).toBe(0);

    // Restored into the detector without TTL (as Flink 2.2 allows): the profiles are kept, for
    // good, and the next savepoint is version 1 again (no state under TTL).
    const alerts3: Alert[] = [];
    const feed3 = feed.slice(0, 8); // what the savepoint had read: the restored source goes on from there
    const third = start(new ManualClock(T0 + 1000 * MINUTE), feed3, alerts3, { quietMs: null, restoreFrom: savepoint });
    feed3.push(...txns('bob', 1000));
    await processed(third, 1);
    expect(alerts3).toEqual([{ user: 'bob', amount: 1000, mean: 20 }]);
    const untimed = await SnapshotReader.open(new LocalObjectStore(await third.stopWithSavepoint(dir.path)));
    await third.result;
    expect(untimed.metadata.formatVersion).toBe(1);
    const values = new Map<unknown, unknown>();
    for await (const batch of untimed.readKeyed('anomaly-detector', 'profile')) batch.keys.forEach((k, i) => values.set(k, batch.values[i]));
    expect(values).toEqual(new Map<unknown, unknown>([['alice', { count: 5, sum: 540 }], ['bob', { count: 4, sum: 1060 }]]));
  });
});
