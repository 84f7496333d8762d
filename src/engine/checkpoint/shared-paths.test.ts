import { describe, expect, it } from 'vitest';
import { checkpointOfSharedPath, sharedDir, sharedFileMarker, sharedFileOwner } from './shared-paths.ts';

describe('checkpointOfSharedPath', () => {
  it('reads the checkpoint from a shared file named as a subtask names it, and nothing from other names', () => {
    expect(checkpointOfSharedPath(`${sharedDir('job')}${sharedFileOwner('sums', 3)}${sharedFileMarker(12)}0-0a1b2c3d.tsfs`)).toBe(12);
    expect(checkpointOfSharedPath(`${sharedDir('job')}${sharedFileOwner('sums', 0)}${sharedFileMarker(7)}2-ffffffff.tsfs`)).toBe(7);
    expect(checkpointOfSharedPath('job/chk-3/op-0.tsfs')).toBeUndefined();
    expect(checkpointOfSharedPath('a-chk5-a0/other.tsfs')).toBeUndefined();
  });
});
