import { describe, expect, it } from 'vitest';
import { Progress, progressEnabled, progressLine } from './progress.ts';

function fakeStream(isTTY: boolean): { out: { write(text: string): void; isTTY: boolean }; written: string[] } {
  const written: string[] = [];
  return { out: { write: (text) => void written.push(text), isTTY }, written };
}

describe('progress line', () => {
  it('shows entries, bytes, rates and time left', () => {
    expect(progressLine('verify', { entries: 250_000, bytes: 10 * 1024 * 1024 }, { entries: 1_000_000, bytes: 40 * 1024 * 1024 }, 2000)).toBe(
      'verify: 250,000/1,000,000 entries, 10.0 MiB/40.0 MiB, 125,000 entries/s, 5.0 MiB/s, ETA 0:06',
    );
  });

  it('has no rate or ETA before time passed or work was done, and hours once they matter', () => {
    expect(progressLine('rekey', { entries: 0, bytes: 0 }, { entries: 10, bytes: 100 }, 0)).toBe('rekey: 0/10 entries, 0 B/100 B, - entries/s, - B/s, ETA -:--');
    expect(progressLine('rekey', { entries: 1, bytes: 10 }, { entries: 10_000 }, 1000)).toBe('rekey: 1/10,000 entries, 10 B, 1 entries/s, 10 B/s, ETA 2:46:39');
  });

  it('takes the ETA from entries and bytes together, so work that reads before it writes keeps one', () => {
    // rekey: all bytes read, no entry written yet: half done.
    expect(progressLine('rekey', { entries: 0, bytes: 1000 }, { entries: 10, bytes: 1000 }, 4000)).toBe('rekey: 0/10 entries, 1000 B/1000 B, 0 entries/s, 250 B/s, ETA 0:04');
  });

  it('takes the ETA from bytes when there are no entries to count', () => {
    expect(progressLine('x', { entries: 0, bytes: 512 }, { entries: 0, bytes: 1024 }, 3000)).toBe('x: 0/0 entries, 512 B/1.0 KiB, 0 entries/s, 171 B/s, ETA 0:03');
  });
});

describe('Progress', () => {
  it('redraws in place at most once per interval and clears its line when done', () => {
    let now = 1000;
    const { out, written } = fakeStream(true);
    const progress = new Progress({ out, enabled: true, now: () => now, label: 'verify', total: { entries: 100, bytes: 1000 }, intervalMs: 200 });
    now = 1100;
    progress.update(10, 100);
    now = 1200;
    progress.update(20, 200); // 100 ms after the last draw: skipped
    now = 1300;
    progress.update(30, 300);
    progress.done();
    expect(written).toEqual([
      '\r\x1b[2Kverify: 10/100 entries, 100 B/1000 B, 100 entries/s, 1000 B/s, ETA 0:01',
      '\r\x1b[2Kverify: 30/100 entries, 300 B/1000 B, 100 entries/s, 1000 B/s, ETA 0:01',
      '\r\x1b[2K',
    ]);
  });

  it('writes nothing when disabled, not even on done', () => {
    const { out, written } = fakeStream(false);
    const progress = new Progress({ out, enabled: progressEnabled(out, false), now: () => 5, label: 'rekey', total: { entries: 1 } });
    progress.update(1, 1);
    progress.done();
    expect(written).toEqual([]);
  });

  it('is enabled on a terminal only, and never with --json', () => {
    expect(progressEnabled({ write: () => undefined, isTTY: true }, undefined)).toBe(true);
    expect(progressEnabled({ write: () => undefined, isTTY: true }, true)).toBe(false);
    expect(progressEnabled({ write: () => undefined, isTTY: false }, undefined)).toBe(false);
    expect(progressEnabled({ write: () => undefined }, undefined)).toBe(false);
  });
});
