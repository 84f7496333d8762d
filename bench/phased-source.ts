/**
 * A source for benchmarks that change a known share of the keys between checkpoints (bench
 * incremental, bench native-savepoint): phase 0 sets every key once; each later phase updates
 * `changed` of them, picked pseudo-randomly. The bench releases phases one at a time through a
 * PhaseGate and the source idles in between, so barriers pass while no record flows.
 */
import type { PollResult, Source, SourceReader } from '../src/engine/api/source.ts';
import type { SinkFunction } from '../src/engine/runtime/operators.ts';
import { fmix32 } from '../src/format/murmur3.ts';

export interface PhasePlan {
  readonly keys: number;
  /** Records of each phase after the first. */
  readonly changed: number;
}

export function phaseLength(plan: PhasePlan, phase: number): number {
  return phase === 0 ? plan.keys : plan.changed;
}

export function phaseKey(plan: PhasePlan, phase: number, t: number): string {
  if (phase === 0) return `k${t}`;
  return `k${fmix32(plan.keys + (phase - 1) * plan.changed + t) % plan.keys}`;
}

/** Releases the source's phases one at a time and tells when a phase has been emitted. */
export class PhaseGate {
  released = -1;
  finished = false;
  readonly #emitted = new Map<number, () => void>();

  /** Lets `phase` flow; resolves once the source has emitted all of it. */
  release(phase: number): Promise<void> {
    this.released = phase;
    return new Promise<void>((resolve) => this.#emitted.set(phase, resolve));
  }

  emitted(phase: number): void {
    this.#emitted.get(phase)?.();
  }

  /** Ends the source at its next poll between phases. */
  finish(): void {
    this.finished = true;
    this.released = Number.MAX_SAFE_INTEGER;
  }
}

export class PhasedSource implements Source<string> {
  readonly bounded = true;
  constructor(
    private readonly gate: PhaseGate,
    private readonly plan: PhasePlan,
  ) {}

  createSplits(): unknown[] {
    return [{ phase: 0, offset: 0 }];
  }

  createReader(): SourceReader<string> {
    const { gate, plan } = this;
    let phase = 0;
    let offset = 0;
    return {
      addSplits: (splits) => {
        const s = splits[0] as { phase: number; offset: number } | undefined;
        if (s !== undefined) ({ phase, offset } = s);
      },
      snapshotSplits: () => [{ phase, offset }],
      async poll(max: number): Promise<PollResult<string>> {
        if (gate.finished) return { records: [], done: true };
        if (phase > gate.released) {
          // Idle between phases: barriers are injected between polls.
          await new Promise((r) => setTimeout(r, 1));
          return { records: [], done: false };
        }
        const n = Math.min(max, phaseLength(plan, phase) - offset);
        const records = Array.from({ length: n }, (_, k) => ({ value: phaseKey(plan, phase, offset + k), timestamp: null }));
        offset += n;
        if (offset === phaseLength(plan, phase)) {
          gate.emitted(phase);
          phase += 1;
          offset = 0;
        }
        return { records, done: false };
      },
    };
  }
}

/** Counts what reaches it and keeps nothing. */
export class CountingSink implements SinkFunction<number> {
  records = 0;
  invoke(): void {
    this.records += 1;
  }
}
