/**
 * scanCheckpointDir over real checkpoints of a real job, changed the ways a checkpoint directory
 * goes wrong: a `_metadata` of a newer format (not known to be damaged: never deleted), a
 * truncated `_metadata`, a savepoint and unknown files beside the checkpoints.
 */
import { cp, mkdir, readFile, truncate, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { scanCheckpointDir } from '../../src/engine/checkpoint/checkpoint-dir-scan.ts';
import { planGc } from '../../src/engine/checkpoint/gc-plan.ts';
import { crc32 } from '../../src/format/crc32.ts';
import { LocalObjectStore } from '../../src/storage/local-store.ts';
import { retainedCheckpoints } from '../support/retained-checkpoints.ts';
import { tempDir } from '../support/temp-dir.ts';

let dir: Awaited<ReturnType<typeof tempDir>>;
let root: string;
let jobId: string;

beforeAll(async () => {
  dir = await tempDir('tsflink-scan-');
  root = join(dir.path, 'checkpoints');
  const made = await retainedCheckpoints(root, { checkpoints: 4 });
  jobId = made.jobId;
  const [chk1, chk2, chk3] = made.checkpoints;
  // chk-1: a _metadata from a newer format version (99), with a valid header checksum.
  const metadata = Buffer.from(await readFile(join(chk1!, '_metadata')));
  metadata.writeUInt16BE(99, 8);
  metadata.writeUInt32BE(crc32(metadata.subarray(0, 20)), 20);
  await writeFile(join(chk1!, '_metadata'), metadata);
  // chk-2: _metadata cut short.
  await truncate(join(chk2!, '_metadata'), 30);
  await cp(chk3!, join(root, jobId, 'savepoint-abcdef-000000000001'), { recursive: true });
  await mkdir(join(root, jobId, 'taskowned'));
  await writeFile(join(root, jobId, 'taskowned', 'x'), 'x');
  await writeFile(join(root, 'notes.txt'), 'someone left this here');
}, 60_000);

afterAll(async () => {
  await dir.remove();
});

const open = async (location: string) => new LocalObjectStore(location);

describe('scanCheckpointDir', () => {
  it('classifies each checkpoint and leaves unknown files alone', async () => {
    const scan = await scanCheckpointDir(new LocalObjectStore(root), root, open);
    expect(scan.checkpoints.map((c) => [c.path, c.state, c.references === null])).toEqual([
      [`${jobId}/chk-1`, 'unreadable', true],
      [`${jobId}/chk-2`, 'damaged', true],
      [`${jobId}/chk-3`, 'complete', false],
      [`${jobId}/chk-4`, 'complete', false],
    ]);
    expect(scan.checkpoints[0]!.problem).toMatch(/^unsupported format version 99/);
    expect(scan.checkpoints[1]!.problem).toMatch(/_metadata/);
    expect(scan.checkpoints[3]!.references!.every((r) => r.startsWith(`${jobId}/chk-4/`) && r.endsWith('.tsfs'))).toBe(true);
    expect(scan.savepoints.map((s) => s.path)).toEqual([`${jobId}/savepoint-abcdef-000000000001`]);
    expect(scan.other.map((o) => o.key).sort()).toEqual([`${jobId}/taskowned/x`, 'notes.txt']);
  });

  it('gc keeps what it cannot read, and the savepoint, whatever the retention', async () => {
    const scan = await scanCheckpointDir(new LocalObjectStore(root), root, open);
    const plan = planGc(scan, { keep: 0, olderThan: { ms: 0, text: '0 ms' }, now: Date.now() + 1, running: null });
    expect(plan.items.map((i) => [i.path, i.action])).toEqual([
      [`${jobId}/chk-1`, 'keep'],
      [`${jobId}/chk-2`, 'delete'],
      [`${jobId}/chk-3`, 'delete'],
      [`${jobId}/chk-4`, 'delete'],
      [`${jobId}/savepoint-abcdef-000000000001`, 'keep'],
    ]);
  });
});
