import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { type ChainDecision, type ChainLimits, chainMayGrow, DEFAULT_CHAIN_LIMITS, decideKeyGroup, decideKeyGroups } from './chain-policy.ts';
import { type ChainBlock, deltaSteps, type KeyGroupChain } from './keyed-chain.ts';
import { sharedFileMarker } from './shared-paths.ts';

const block = (kind: ChainBlock['kind'], length: number, step: number): ChainBlock => ({ path: `j/shared/f-0${sharedFileMarker(step)}0-ab.tsfs`, fileSize: 1 << 20, offset: 16, length, entries: 1, crc: 0, kind });
const withBase = { hasBase: true, forceFull: false };

describe('decideKeyGroup', () => {
  it('writes whole without a base or when forced, whatever the chains', () => {
    expect(decideKeyGroup([[]], { hasBase: false, forceFull: false })).toBe('full');
    expect(decideKeyGroup([[]], { hasBase: true, forceFull: true })).toBe('full');
  });

  it('adds deltas to a short chain and to an empty one', () => {
    expect(decideKeyGroup([[block('full', 1000, 0)], []], withBase)).toBe('delta');
    expect(decideKeyGroup([], withBase)).toBe('delta');
    expect(decideKeyGroup([[block('full', 1000, 0), block('upserts', 300, 1), block('deletions', 200, 1)]], withBase)).toBe('delta');
  });

  it('writes whole once deltas pass the ratio of the full block, in any state of the key group', () => {
    const half: ChainLimits = { maxDeltaSteps: 8, maxDeltaRatio: 0.5 };
    const long = [block('full', 1000, 0), block('upserts', 300, 1), block('upserts', 201, 2)];
    expect(chainMayGrow(long, half)).toBe(false);
    expect(decideKeyGroup([[block('full', 10, 0)], long], withBase, half)).toBe('full');
    // The default ratio is 1: deltas up to the full block's size.
    expect(chainMayGrow(long)).toBe(true);
    expect(chainMayGrow([...long, block('deletions', 500, 3)])).toBe(false);
  });

  it('writes whole after the step limit, counting a step per file', () => {
    const steps = (n: number): KeyGroupChain => [block('full', 1 << 20, 0), ...Array.from({ length: n }, (_, i) => [block('upserts', 1, i + 1), block('deletions', 1, i + 1)]).flat()];
    expect(deltaSteps(steps(DEFAULT_CHAIN_LIMITS.maxDeltaSteps - 1))).toBe(DEFAULT_CHAIN_LIMITS.maxDeltaSteps - 1);
    expect(decideKeyGroup([steps(DEFAULT_CHAIN_LIMITS.maxDeltaSteps - 1)], withBase)).toBe('delta');
    expect(decideKeyGroup([steps(DEFAULT_CHAIN_LIMITS.maxDeltaSteps)], withBase)).toBe('full');
  });

  it('weighs a chain without a full block against its first block', () => {
    const half: ChainLimits = { maxDeltaSteps: 8, maxDeltaRatio: 0.5 };
    expect(chainMayGrow([block('upserts', 100, 1), block('upserts', 50, 2)], half)).toBe(true);
    expect(chainMayGrow([block('upserts', 100, 1), block('upserts', 51, 2)], half)).toBe(false);
  });
});

describe('staggered rewrites', () => {
  it('key groups written whole together are rewritten one in maxDeltaSteps at a time, never all at once', () => {
    const groups = 128;
    let chains: KeyGroupChain[] = Array.from({ length: groups }, () => [block('full', 1000, 1)]);
    const fullPerCheckpoint: number[] = [];
    for (let id = 2; id <= 40; id++) {
      let full = 0;
      chains = chains.map((chain, keyGroup) => {
        if (decideKeyGroup([chain], { hasBase: true, forceFull: false, keyGroup, checkpointId: id }) === 'delta') return [...chain, block('upserts', 10, id)];
        full += 1;
        return [block('full', 1000, id)];
      });
      fullPerCheckpoint.push(full);
    }
    const turn = groups / DEFAULT_CHAIN_LIMITS.maxDeltaSteps;
    expect(fullPerCheckpoint[0]).toBe(0); // no chain has a delta yet
    expect(fullPerCheckpoint.slice(1).every((n) => n === turn)).toBe(true);
    expect(Math.max(...chains.map(deltaSteps))).toBeLessThan(DEFAULT_CHAIN_LIMITS.maxDeltaSteps);
  });
});

describe('rewrites the ratio forces, spread over checkpoints', () => {
  /**
   * 128 key groups written whole at checkpoint 1, then each checkpoint changes `share` of every
   * key group's full block (keys spread uniformly): key groups written whole per checkpoint, and
   * all bytes written, under `decide`.
   */
  function run(share: number, decide: (chains: KeyGroupChain[], id: number) => ChainDecision[]): { whole: number[]; bytes: number } {
    let chains: KeyGroupChain[] = Array.from({ length: 128 }, () => [block('full', 1000, 1)]);
    const whole: number[] = [];
    let bytes = 0;
    for (let id = 2; id <= 120; id++) {
      const decisions = decide(chains, id);
      whole.push(decisions.filter((d) => d === 'full').length);
      chains = chains.map((chain, keyGroup) => {
        const written = decisions[keyGroup] === 'full' ? block('full', 1000, id) : block('upserts', 1000 * share, id);
        bytes += written.length;
        return written.kind === 'full' ? [written] : [...chain, written];
      });
    }
    return { whole, bytes };
  }
  const each = (chains: KeyGroupChain[], id: number): ChainDecision[] => chains.map((chain, keyGroup) => decideKeyGroup([chain], { hasBase: true, forceFull: false, keyGroup, checkpointId: id }));
  const together = (chains: KeyGroupChain[], id: number): ChainDecision[] => {
    const decisions = decideKeyGroups(chains.map((chain, keyGroup) => ({ keyGroup, chains: [chain] })), { hasBase: true, forceFull: false, checkpointId: id, baseCheckpointId: id - 1 });
    return chains.map((_, keyGroup) => decisions.get(keyGroup)!);
  };

  it('with changes spread over the keys, no checkpoint writes most key groups whole, for about the same bytes', () => {
    for (const share of [0.08, 0.16, 0.3]) {
      const before = run(share, each);
      const after = run(share, together);
      expect(Math.max(...before.whole)).toBeGreaterThan(100); // every chain passes the ratio at the same checkpoint
      // Rewrites due per checkpoint; the first round's last chains still come together, at most twice that.
      const due = Math.ceil(128 / (Math.floor(1 / share) + 2));
      expect(Math.max(...after.whole.slice(1))).toBeLessThanOrEqual(2 * due + 4);
      expect(Math.max(...after.whole.slice(30))).toBeLessThanOrEqual(Math.ceil(due * 1.5));
      expect(after.bytes).toBeLessThanOrEqual(before.bytes * 1.05);
    }
  });

  it('with few changes leaves the staggered rewrites as they are', () => {
    const before = run(0.012, each);
    const after = run(0.012, together);
    expect(after.whole).toEqual(before.whole);
  });

  it('writes nothing whole early when the key groups did not change in the base checkpoint', () => {
    const groups = Array.from({ length: 8 }, (_, keyGroup) => ({ keyGroup, chains: [[block('full', 1000, 1), block('upserts', 300, 2)]] }));
    expect([...decideKeyGroups(groups, { hasBase: true, forceFull: false, checkpointId: 4, baseCheckpointId: 3 }).values()]).toEqual(Array(8).fill('delta'));
    expect([...decideKeyGroups(groups, { hasBase: true, forceFull: false, checkpointId: 3, baseCheckpointId: 2 }).values()]).toContain('full');
  });

  it('writes every key group whole without a base or when forced', () => {
    const groups = [{ keyGroup: 3, chains: [[block('full', 1000, 1), block('upserts', 900, 2)]] }, { keyGroup: 4, chains: [] }];
    expect([...decideKeyGroups(groups, { hasBase: false, forceFull: false }).values()]).toEqual(['full', 'full']);
    expect([...decideKeyGroups(groups, { hasBase: true, forceFull: true }).values()]).toEqual(['full', 'full']);
  });
});

/** What one checkpoint writes for a key group: a full block's bytes, or a step's upserts and deletions bytes (0: no block). */
interface Sizes {
  readonly full: number;
  readonly upserts: number;
  readonly deletions: number;
  readonly forced: boolean;
}

const arbSizes: fc.Arbitrary<Sizes> = fc.record({ full: fc.nat(10_000), upserts: fc.nat(3_000), deletions: fc.nat(1_000), forced: fc.nat(9).map((n) => n === 0) });
const arbLimits: fc.Arbitrary<ChainLimits> = fc.record({ maxDeltaSteps: fc.integer({ min: 1, max: 12 }), maxDeltaRatio: fc.constantFrom(0.25, 0.5, 1) });

describe('chains under the policy (property)', () => {
  it('stay within the step limit, and their deltas within the ratio but for the last step', () => {
    fc.assert(
      fc.property(arbLimits, fc.option(fc.nat(127), { nil: undefined }), fc.array(arbSizes, { maxLength: 60 }), (limits, keyGroup, checkpoints) => {
        let chain: KeyGroupChain | undefined; // undefined: no base yet
        checkpoints.forEach((sizes, i) => {
          const step = i + 1;
          if (decideKeyGroup(chain === undefined ? [] : [chain], { hasBase: chain !== undefined, forceFull: sizes.forced, keyGroup, checkpointId: step }, limits) === 'full') {
            chain = sizes.full === 0 ? [] : [block('full', sizes.full, step)];
          } else {
            const added = [...(sizes.upserts > 0 ? [block('upserts', sizes.upserts, step)] : []), ...(sizes.deletions > 0 ? [block('deletions', sizes.deletions, step)] : [])];
            const before = chain!;
            chain = [...before, ...added];
            // The chain the decision saw replays at most (1 + ratio) times its first block's bytes
            // (the full block, or what the group held when first written); only the step just added may pass that.
            const replayed = before.reduce((n, b) => n + b.length, 0);
            if (before.length > 0) expect(replayed).toBeLessThanOrEqual((1 + limits.maxDeltaRatio) * before[0]!.length);
          }
          expect(deltaSteps(chain)).toBeLessThanOrEqual(limits.maxDeltaSteps);
          expect(chain.filter((b) => b.kind === 'full').length).toBeLessThanOrEqual(1);
          if (chain.length > 0 && chain.some((b) => b.kind === 'full')) expect(chain[0]!.kind).toBe('full');
        });
      }),
      { numRuns: 300 },
    );
  });
});
