/**
 * Per-user click sessions: event-time session windows (a session ends after 30 s without clicks),
 * late clicks accepted for 5 minutes (they merge into and re-fire their session), and the five
 * busiest sessions of every 100 via countWindowAll. Flink's SessionWindowing example, extended.
 *
 *   flink run -p 2 examples/user-sessions.ts [records] [seed]
 *
 * Prints `session user [start, end) clicks` for every firing (a session fires again when a late
 * click reaches it) and `top [...]` for every 100 sessions.
 */
import { type AggregateFunction, DataGeneratorSource, EventTimeSessionWindows, PrintSink, type StreamExecutionEnvironment, WatermarkStrategy } from '../src/index.ts';

interface Click {
  readonly user: string;
  readonly time: number;
}

interface Session {
  readonly user: string;
  readonly start: number;
  readonly end: number;
  readonly clicks: number;
}

const GAP_MS = 30_000;
const EPOCH = Date.UTC(2026, 0, 1);

const countClicks: AggregateFunction<Click, number, number> = {
  createAccumulator: () => 0,
  add: (_click, n) => n + 1,
  getResult: (n) => n,
  // Session windows merge, and so do their accumulators.
  merge: (a, b) => a + b,
};

export default (env: StreamExecutionEnvironment, args: string[]): void => {
  const records = Number(args[0] ?? 2_000);
  const seed = Number(args[1] ?? 7);
  const sessions = env
    .fromSource(
      new DataGeneratorSource<Click>({
        count: records,
        seed,
        // A click every second of event time by one of 20 users, up to 40 s out of order.
        generate: (i, random) => ({ user: `user-${Math.floor(random() * 20)}`, time: EPOCH + i * 1000 - Math.floor(random() * 40_000) }),
      }),
      'clicks',
    )
    .uid('clicks')
    .assignTimestampsAndWatermarks(WatermarkStrategy.forBoundedOutOfOrderness<Click>(10_000).withTimestampAssigner((c) => c.time))
    .uid('timestamps')
    .keyBy((c) => c.user)
    .window(EventTimeSessionWindows.withGap(GAP_MS))
    .allowedLateness(5 * 60_000)
    .aggregate<number, number, Session>(countClicks, (user: string, { window }, [clicks], out) => out.collect({ user, start: window.start - EPOCH, end: window.end - EPOCH, clicks: clicks! }))
    .uid('sessions');
  sessions.map((s: Session) => `session ${s.user} [${s.start}, ${s.end}) ${s.clicks}`).uid('describe').sinkTo(new PrintSink<string>()).uid('print');
  sessions
    .countWindowAll(100)
    .process<string>((_ctx, batch, out) => out.collect(`top ${JSON.stringify([...batch].sort((a, b) => b.clicks - a.clicks).slice(0, 5).map((s) => `${s.user}:${s.clicks}`))}`))
    .uid('top-sessions')
    .sinkTo(new PrintSink<string>())
    .uid('print-top')
    .setParallelism(1);
};
