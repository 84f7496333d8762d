/**
 * A state TTL is refused until a backend enforces expiry: the constructors refuse it where the
 * job declares it, and a descriptor written as an object literal fails the job on its first
 * attempt, naming the state, instead of restarting again and again or running with state that
 * never expires.
 */
import { describe, expect, it } from 'vitest';
import { type Collector, type KeyedProcessFunction, type RuntimeContext, StreamExecutionEnvironment, type ValueState, valueState } from '../../src/index.ts';
import { UserError } from '../../src/errors.ts';
import { type ValueStateDescriptor, listState, mapState } from '../../src/engine/state/state-descriptors.ts';

const TTL = { ttlMs: 60_000, update: 'OnCreateAndWrite', visibility: 'NeverReturnExpired' } as const;
const LINE = "keyed state 'seen': state TTL is not supported yet (expiry is not enforced); declare the state without ttl and clear old entries yourself, e.g. from a timer";

describe('state TTL', () => {
  it('is refused by the descriptor constructors in one line naming the state', () => {
    for (const declare of [() => valueState('seen', { ttl: TTL }), () => listState('seen', { ttl: TTL }), () => mapState('seen', { ttl: TTL })]) {
      let error: unknown;
      try {
        declare();
      } catch (err) {
        error = err;
      }
      expect(error).toBeInstanceOf(UserError);
      expect((error as UserError).message).toBe(LINE);
      expect((error as UserError).exitCode).toBe(1);
    }
    expect(valueState('seen', { ttl: null }).ttl).toBeNull();
  });

  it('fails the job at once when a literal descriptor carries one, despite a restart strategy', async () => {
    const descriptor: ValueStateDescriptor<boolean> = { kind: 'value', name: 'seen', ttl: TTL };
    class Dedup implements KeyedProcessFunction<string, string, string> {
      private seen!: ValueState<boolean>;
      open(ctx: RuntimeContext): void {
        this.seen = ctx.getState(descriptor);
      }
      processElement(value: string, _ctx: unknown, out: Collector<string>): void {
        if (this.seen.value() !== true) out.collect(value);
        this.seen.update(true);
      }
    }
    const env = StreamExecutionEnvironment.getExecutionEnvironment().setRestartStrategy({ type: 'fixed-delay', attempts: 1000, delayMs: 1 });
    env
      .fromElements('a', 'b', 'a')
      .keyBy((v) => v)
      .process(() => new Dedup())
      .uid('dedup');
    const client = env.executeAsync('ttl');
    await expect(client.result).rejects.toThrow(LINE);
    expect(client.status()).toBe('FAILED');
  });
});
