import { describe, expect, it } from 'vitest';
import { sameSetting } from './cluster-only-keys.ts';

describe('sameSetting', () => {
  it.each([
    ['heartbeat.timeout', '1min', '60 s', true],
    ['heartbeat.timeout', '50s', '50000 ms', true],
    ['heartbeat.interval', '50000', '50 s', true],
    ['rest.async.store-duration', '2000ms', '2 s', true],
    ['resourcemanager.taskmanager-timeout', '30000', '30 s', true],
    ['jobstore.expiration-time', '+3', '3', true],
    ['jobstore.max-capacity', '007', '7', true],
    ['slotmanager.number-of-slots.max', '2147483647', '+2147483647', true],
    ['rest.server.max-content-length', '104857600', ' 104857600', true],
    ['cluster.evenly-spread-out-slots', 'FALSE', 'false', true],
    ['process.jobmanager.working-dir', '/tmp/a', '/tmp/a ', true],
    ['heartbeat.timeout', '1min', '50 s', false],
    // jobstore.expiration-time is seconds, not a duration: 3000 is not 3 s.
    ['jobstore.expiration-time', '3000', '3 s', false],
    ['jobstore.expiration-time', '-3', '3', false],
    ['taskmanager.count', '2', '3', false],
    ['cluster.evenly-spread-out-slots', 'true', 'false', false],
    // Paths are text: a duration-looking or boolean-looking spelling is not normalised.
    ['process.jobmanager.working-dir', 'TRUE', 'true', false],
    ['process.jobmanager.working-dir', '/tmp/a', '/tmp/b', false],
  ])('%s: %s and %s: %s', (key, a, b, same) => {
    expect(sameSetting(key, a, b)).toBe(same);
  });
});
