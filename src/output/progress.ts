/**
 * The progress line of long file work (rekey, verify, inspect --entries, diff --entries): entries
 * and bytes done of the total, rates and time left, redrawn in place with `\r` on a terminal at
 * most every `intervalMs`. Off a terminal, or with --json, it writes nothing at all, so scripts,
 * logs and golden outputs never see it.
 */
import type { Output } from './context.ts';
import { formatBytes } from './bytes.ts';

export interface ProgressTotal {
  readonly entries: number;
  /** Unknown when undefined: the line then shows the bytes done alone. */
  readonly bytes?: number | undefined;
}

export interface ProgressOptions {
  readonly out: Output;
  /** Whether to draw at all: `out` is a terminal and --json was not given. */
  readonly enabled: boolean;
  /** Milliseconds, monotonic (performance.now in the CLI, a fake in tests). */
  readonly now: () => number;
  readonly label: string;
  readonly total: ProgressTotal;
  readonly intervalMs?: number;
}

const CLEAR_LINE = '\r\x1b[2K';

export class Progress {
  readonly #options: ProgressOptions;
  readonly #started: number;
  #lastDrawn = Number.NEGATIVE_INFINITY;
  #shown = false;

  constructor(options: ProgressOptions) {
    this.#options = options;
    this.#started = options.now();
  }

  /** The work done so far; redraws when the last draw is `intervalMs` old. */
  update(entries: number, bytes: number): void {
    const { enabled, now, intervalMs = 200, out, label, total } = this.#options;
    if (!enabled) return;
    const at = now();
    if (at - this.#lastDrawn < intervalMs) return;
    this.#lastDrawn = at;
    out.write(`${CLEAR_LINE}${progressLine(label, { entries, bytes }, total, at - this.#started)}`);
    this.#shown = true;
  }

  /** Removes the line, so what the command prints next starts on a clean line. */
  done(): void {
    if (this.#shown) this.#options.out.write(CLEAR_LINE);
    this.#shown = false;
  }
}

/** Whether a command draws progress: on a terminal stderr, never with --json. */
export function progressEnabled(stderr: Output, json: boolean | undefined): boolean {
  return stderr.isTTY === true && json !== true;
}

/** `verify: 250,000/1,000,000 entries, 9.8 MiB/39.1 MiB, 125,000 entries/s, 4.9 MiB/s, ETA 0:06` */
export function progressLine(label: string, done: { entries: number; bytes: number }, total: ProgressTotal, elapsedMs: number): string {
  const seconds = elapsedMs / 1000;
  const entries = `${count(done.entries)}/${count(total.entries)} entries`;
  const bytes = total.bytes === undefined ? formatBytes(done.bytes) : `${formatBytes(done.bytes)}/${formatBytes(total.bytes)}`;
  const rates = seconds > 0 ? `${count(done.entries / seconds)} entries/s, ${formatBytes(Math.round(done.bytes / seconds))}/s` : '- entries/s, - B/s';
  // The mean of both fractions where both totals are known: rekey reads a state's bytes before it
  // writes its entries, so either alone would stall the estimate for half the work.
  const fractions = [total.entries > 0 ? done.entries / total.entries : undefined, total.bytes !== undefined && total.bytes > 0 ? done.bytes / total.bytes : undefined].filter((f) => f !== undefined);
  const fraction = fractions.length === 0 ? 0 : fractions.reduce((a, b) => a + Math.min(1, b), 0) / fractions.length;
  const eta = fraction > 0 && seconds > 0 ? clock(Math.max(0, (seconds * (1 - fraction)) / fraction)) : '-:--';
  return `${label}: ${entries}, ${bytes}, ${rates}, ETA ${eta}`;
}

function count(n: number): string {
  return Math.round(n).toLocaleString('en-US');
}

/** `m:ss`, or `h:mm:ss` from an hour on. */
function clock(seconds: number): string {
  const s = Math.ceil(seconds);
  const two = (n: number): string => String(n).padStart(2, '0');
  const h = Math.floor(s / 3600);
  const m = Math.floor((s % 3600) / 60);
  return h > 0 ? `${h}:${two(m)}:${two(s % 60)}` : `${m}:${two(s % 60)}`;
}
