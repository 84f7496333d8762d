import { describe, expect, it } from 'vitest';
import { formatBytes, formatCount, formatDuration, formatTime } from './format.ts';

describe('dashboard formats', () => {
  it('writes sizes in binary units', () => {
    expect([0, 394, 1023, 1024, 14_503, 84_408, 1_572_864, 5 * 1024 ** 3].map(formatBytes)).toEqual(['0 B', '394 B', '1023 B', '1.00 KiB', '14.2 KiB', '82.4 KiB', '1.50 MiB', '5.00 GiB']);
    expect(formatBytes(-1)).toBe('-');
  });

  it('writes durations from milliseconds to days', () => {
    expect([0, 31, 999, 1000, 12_345, 59_999, 60_000, 245_000, 7_380_000, 277_200_000].map(formatDuration)).toEqual([
      '0 ms',
      '31 ms',
      '999 ms',
      '1.0 s',
      '12.3 s',
      '60.0 s',
      '1m 00s',
      '4m 05s',
      '2h 03m',
      '3d 05h',
    ]);
  });

  it('writes counts with separators and times in the given offset', () => {
    expect(formatCount(1_234_567)).toBe('1,234,567');
    expect(formatTime(Date.UTC(2026, 11, 6, 8, 41, 7), 0)).toBe('2026-12-06 08:41:07');
    expect(formatTime(Date.UTC(2026, 11, 6, 23, 30, 0), 60)).toBe('2026-12-07 00:30:00');
    expect(formatTime(-1, 0)).toBe('-');
  });
});
