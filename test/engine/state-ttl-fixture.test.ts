/**
 * The version 2 fixture (fixtures/savepoints/v2/ttl-states, never rewritten) restores into a job
 * forever: its TTL states come back with their last-access times and expire by them on the job's
 * clock, per list element, while plain state and unknown states restore as before.
 */
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import {
  type Collector,
  type KeyedProcessFunction,
  type ListState,
  type MapState,
  type RuntimeContext,
  StateTtlConfig,
  StreamExecutionEnvironment,
  type ValueState,
  listState,
  mapState,
  valueState,
} from '../../src/index.ts';
import { ROOT } from '../support/run-flink.ts';

const FIXTURE = join(ROOT, 'fixtures', 'savepoints', 'v2', 'ttl-states');
const CREATED_AT = Date.UTC(2026, 10, 21, 12, 0, 0);
const MINUTE = 60_000;

type Seen = [user: string, lastSeen: unknown, recent: number[], devices: (readonly [string, unknown])[], count: number | undefined];

class Probe implements KeyedProcessFunction<string, string, Seen> {
  private lastSeen!: ValueState<unknown>;
  private recent!: ListState<number>;
  private devices!: MapState<string, unknown>;
  private count!: ValueState<number>;
  open(ctx: RuntimeContext): void {
    // As the fixture declares them (FORMAT.md 3.5 records ttlMs, update and visibility).
    this.lastSeen = ctx.getState(valueState('last-seen', { ttl: StateTtlConfig.newBuilder(30 * MINUTE).build() }));
    this.recent = ctx.getListState(listState<number>('recent', { ttl: StateTtlConfig.newBuilder(10 * MINUTE).updateTtlOnReadAndWrite().build() }));
    this.devices = ctx.getMapState(mapState<string, unknown>('by-device', { ttl: StateTtlConfig.newBuilder(60 * MINUTE).returnExpiredIfNotCleanedUp().build() }));
    this.count = ctx.getState(valueState<number>('count'));
  }
  processElement(user: string, _ctx: unknown, out: Collector<Seen>): void {
    out.collect([user, this.lastSeen.value(), [...this.recent.get()], [...this.devices.entries()], this.count.value()]);
  }
}

describe('the format version 2 fixture in a job', () => {
  it('restores TTL states with their last-access times and expires by them on the job clock', async () => {
    const seen: Seen[] = [];
    const env = StreamExecutionEnvironment.getExecutionEnvironment()
      .setProcessingTimeClock(() => CREATED_AT + 8 * MINUTE)
      .restoreFrom(FIXTURE, { allowNonRestoredState: true });
    env
      .fromElements('user-0', 'user-1', 'user-11')
      .uid('users')
      .keyBy((u) => u)
      .process(() => new Probe())
      .uid('anomaly-detector')
      .map((s) => {
        seen.push(s);
        return s;
      })
      .uid('out');
    await env.execute('v2 fixture');
    const byUser = new Map(seen.map((s) => [s[0], s]));
    // recent (10 minutes): elements accessed 3 minutes and at the epoch before are gone, 1 minute before is not.
    expect(byUser.get('user-0')).toEqual(['user-0', { amount: 0, at: CREATED_AT }, [1], [['phone', 0], ['laptop', { trusted: true }]], 0]);
    expect(byUser.get('user-1')).toEqual(['user-1', { amount: 10, at: CREATED_AT - 1 }, [2], [['phone', 1], ['laptop', { trusted: false }]], 1]);
    expect(byUser.get('user-11')).toEqual(['user-11', { amount: 110, at: CREATED_AT - 11 }, [], [], 11]);
  });
});
