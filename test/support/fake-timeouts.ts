import { afterEach, beforeEach, vi } from 'vitest';

/**
 * Fake setTimeout, clearTimeout and Date for every test of the file, for code that takes its
 * timers from the globals (the checkpoint coordinator, the executor). setImmediate stays real: such
 * tests wait on real file operations with it.
 */
export function useFakeTimeouts(): void {
  beforeEach(() => {
    vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout', 'Date'] });
  });
  afterEach(() => {
    vi.useRealTimers();
  });
}
