import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { checkpointOfOwnCopy, sharedCopiesToPrune } from './shared-copy-pruning.ts';
import { sharedFileMarker } from './shared-paths.ts';

const DIR = 'job/shared/';
const OWNER = 'a1b2c3d4e5f6-1';
const own = (id: number, attempt = 0): string => `${DIR}${OWNER}${sharedFileMarker(id)}${attempt}-cafe.tsfs`;
const refs = (entries: [number, string[]][]): Map<number, Set<string>> => new Map(entries.map(([id, files]) => [id, new Set(files)]));

describe('which local copies of shared files go', () => {
  it('keeps what the confirmed checkpoint refers to and deletes its own older copies nothing refers to', () => {
    const copies = [own(1), own(2), own(3), own(4)];
    // chk 3: a delta on chk 1's full blocks; chk 2 was subsumed.
    expect(sharedCopiesToPrune({ copies, dir: DIR, owner: OWNER, confirmedId: 3, refs: refs([[3, [own(3), own(1)]]]), inFlight: [] })).toEqual([own(2)]);
  });

  it('keeps newer checkpoints (pending, or written under way) and what pending ones and writes under way build on', () => {
    const copies = [own(1), own(2), own(3), own(4), own(5)];
    const decided = sharedCopiesToPrune({
      copies,
      dir: DIR,
      owner: OWNER,
      confirmedId: 3,
      refs: refs([[3, [own(3)]], [4, [own(4), own(2)]]]),
      inFlight: [new Set([own(1)])],
    });
    expect(decided).toEqual([]);
  });

  it('deletes nothing when the subtask does not know what the confirmed checkpoint refers to', () => {
    expect(sharedCopiesToPrune({ copies: [own(1), own(2)], dir: DIR, owner: OWNER, confirmedId: 2, refs: refs([[1, [own(1)]]]), inFlight: [] })).toEqual([]);
  });

  it("never touches another subtask's, another operator's or another job's copies", () => {
    const others = [`${DIR}${OWNER}0${sharedFileMarker(1)}0-x.tsfs`, `${DIR}ffffffffffff-1${sharedFileMarker(1)}0-x.tsfs`, `other/shared/${OWNER}${sharedFileMarker(1)}0-x.tsfs`, `${DIR}sub/${OWNER}${sharedFileMarker(1)}0-x.tsfs`, `${DIR}${OWNER}-chkx-a0.tsfs`];
    expect(sharedCopiesToPrune({ copies: others, dir: DIR, owner: OWNER, confirmedId: 9, refs: refs([[9, [own(9)]]]), inFlight: [] })).toEqual([]);
    expect(others.map((p) => checkpointOfOwnCopy(p, DIR, OWNER))).toEqual([undefined, undefined, undefined, undefined, undefined]);
    expect(checkpointOfOwnCopy(own(12, 3), DIR, OWNER)).toBe(12);
  });

  it('never deletes a copy still referred to, nor a newer one; deletes every own older unreferenced one', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 20 }),
        fc.uniqueArray(fc.integer({ min: 1, max: 30 }), { maxLength: 25 }),
        fc.array(fc.tuple(fc.integer({ min: 1, max: 30 }), fc.array(fc.integer({ min: 1, max: 30 }), { maxLength: 5 })), { maxLength: 8 }),
        fc.array(fc.array(fc.integer({ min: 1, max: 30 }), { maxLength: 4 }), { maxLength: 3 }),
        (confirmedId, copyIds, refEntries, inFlightIds) => {
          const r = refs([[confirmedId, [own(confirmedId)]], ...refEntries.map(([id, files]): [number, string[]] => [id, files.map((f) => own(f))])]);
          const inFlight = inFlightIds.map((ids) => new Set(ids.map((i) => own(i))));
          const copies = copyIds.map((i) => own(i));
          const doomed = new Set(sharedCopiesToPrune({ copies, dir: DIR, owner: OWNER, confirmedId, refs: r, inFlight }));
          const needed = new Set([...(r.get(confirmedId) ?? [])]);
          for (const [id, files] of r) if (id > confirmedId) for (const f of files) needed.add(f);
          for (const s of inFlight) for (const f of s) needed.add(f);
          for (const [i, path] of copyIds.map((id, n) => [id, copies[n]!] as const)) {
            expect(doomed.has(path)).toBe(i <= confirmedId && !needed.has(path));
          }
        },
      ),
    );
  });
});
