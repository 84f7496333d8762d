/**
 * The version 3 fixture (fixtures/savepoints/v3/incremental: a checkpoint root with three
 * checkpoints of one job, written once by scripts/make-v3-fixture.ts and never rewritten) reads
 * forever: each checkpoint replays to exactly the state it was written from, verifies clean,
 * reads the same from S3, and damage to a shared file is reported naming that file.
 */
import { cp, readdir, rm, truncate, writeFile, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SnapshotReader } from '../src/format/snapshot-reader.ts';
import { verifySnapshot } from '../src/format/verify-snapshot.ts';
import { LocalObjectStore } from '../src/storage/local-store.ts';
import { S3ObjectStore } from '../src/storage/s3-store.ts';
import { ROOT, runFlink } from './support/run-flink.ts';
import { type S3TestServer, startS3Server } from './support/s3-server.ts';
import { freePort } from './support/test-cluster.ts';
import { tempDir } from './support/temp-dir.ts';

const JOB = '3c0ffee0000000000000000000000003';
const FIXTURE = join(ROOT, 'fixtures', 'savepoints', 'v3', 'incremental');
const chk = (n: number, root = FIXTURE): string => join(root, JOB, `chk-${n}`);
const AT = Date.UTC(2026, 11, 6, 12, 0, 0);
const range = (from: number, to: number): string[] => Array.from({ length: to - from }, (_, i) => `user-${from + i}`);

async function content(reader: SnapshotReader): Promise<Record<string, Record<string, unknown>>> {
  const out: Record<string, Record<string, unknown>> = {};
  for (const state of reader.operator('counter').keyedStates) {
    const entries: Record<string, unknown> = {};
    for await (const batch of reader.readKeyed('counter', state.name)) batch.keys.forEach((k, i) => (entries[k as string] = batch.values[i]));
    out[state.name] = entries;
  }
  const offsets: unknown[] = [];
  for await (const batch of reader.readOperatorState('source', 'offsets')) offsets.push(...batch.values);
  out['offsets'] = { all: offsets };
  return out;
}

/** The state each checkpoint was written from (as scripts/make-v3-fixture.ts builds it). */
function expected(checkpoint: 1 | 2 | 3): Record<string, Record<string, unknown>> {
  const count: Record<string, unknown> = Object.fromEntries(range(0, 20).map((u, i) => [u, i]));
  const recent: Record<string, number[]> = Object.fromEntries(range(0, 10).map((u, i) => [u, [i]]));
  const byItem: Record<string, unknown> = Object.fromEntries(range(0, 8).map((u, i) => [u, [['apple', i]]]));
  const timers: Record<string, unknown> = Object.fromEntries(range(0, 6).map((u, i) => [u, [[0, AT + i * 1000]]]));
  if (checkpoint >= 2) {
    for (const u of range(0, 5)) count[u] = (count[u] as number) + 100;
    for (const u of range(15, 20)) delete count[u];
    for (const u of range(20, 23)) count[u] = 7;
    for (const u of range(0, 3)) recent[u]!.push(99);
    delete recent['user-9'];
    byItem['user-1'] = [['apple', 1], ['pear', { ripe: true }]];
    delete timers['user-0'];
    timers['user-6'] = [[1, AT + 6000]];
  }
  if (checkpoint >= 3) {
    count['user-0'] = -1;
    count['user-15'] = 150;
    delete count['user-1'];
    for (const u of range(0, 8)) if (u !== 'user-3') delete byItem[u];
  }
  const offsets = [{ split: 0, offset: 100 * checkpoint }, { split: 1, offset: 100 * checkpoint + 1 }];
  return { count, recent, 'by-item': byItem, _timers: timers, offsets: { all: offsets } };
}

describe('the format version 3 fixture', () => {
  it.each([1, 2, 3] as const)('chk-%i replays to exactly the state it was written from and verifies', async (n) => {
    const store = new LocalObjectStore(chk(n));
    const reader = await SnapshotReader.open(store);
    expect(reader.metadata.formatVersion).toBe(3);
    expect(await content(reader)).toEqual(expected(n));
    const report = await verifySnapshot(store);
    expect(report.problems).toEqual([]);
  });

  it('the native savepoint fixture (chk-3 with its shared files copied in) replays to chk-3\'s state and verifies, alone in a directory of its own', async () => {
    const scratch = await tempDir();
    try {
      const copy = join(scratch.path, 'native');
      await cp(join(ROOT, 'fixtures', 'savepoints', 'v3', 'native-savepoint'), copy, { recursive: true });
      const reader = await SnapshotReader.open(new LocalObjectStore(copy));
      expect([reader.metadata.kind, reader.metadata.type, reader.metadata.formatVersion]).toEqual(['savepoint', 'native', 3]);
      expect(reader.metadata.files.every((f) => f.shared === false && f.written === false && f.path.startsWith('shared/'))).toBe(true);
      expect(await content(reader)).toEqual(expected(3));
      expect((await verifySnapshot(new LocalObjectStore(copy))).problems).toEqual([]);
    } finally {
      await scratch.remove();
    }
  });

  it('chk-3 refers to chk-1 and chk-2 files and chains full, upserts and deletions blocks', async () => {
    const meta = (await SnapshotReader.open(new LocalObjectStore(chk(3)))).metadata;
    expect(meta.files.every((f) => f.shared === true && f.path.startsWith(`${JOB}/shared/`))).toBe(true);
    expect(meta.files.filter((f) => f.written === false).map((f) => f.path.replace(/^.*-/, '')).sort()).toEqual(['chk1.tsfs', 'chk1.tsfs', 'chk2.tsfs', 'chk2.tsfs']);
    const kinds = new Set(meta.operators.flatMap((op) => op.keyedStates.flatMap((s) => s.blocks.map((b) => b.kind))));
    expect([...kinds].sort()).toEqual(['deletions', 'full', 'upserts']);
  });

  it('diff compares keyed states by replayed content, not by their chains\' sizes', async () => {
    const result = await runFlink(['diff', chk(2), chk(3)]);
    expect(result.code).toBe(1);
    // 'count' keeps 18 keys (one added, one removed, one changed): what differs, not '18 -> 18'.
    expect(result.stdout).toContain(
      "~ operator 'counter'\n" +
        "    ~ keyed state 'count' (value): keys: 1 added, 1 removed, 1 changed (see --entries)\n" +
        "    ~ keyed state 'by-item' (map): replayedEntries: 8 -> 1, keys: 0 added, 7 removed, 0 changed (see --entries)\n",
    );
    const same = await runFlink(['diff', chk(3), chk(3)]);
    expect(same.code).toBe(0);
  });

  it('diff --json of keyed states compared by replayed content says which keys differ, and never a change to an equal value', async () => {
    const result = await runFlink(['diff', '--json', chk(2), chk(3)]);
    expect(result.code).toBe(1);
    const diff = JSON.parse(result.stdout) as { operators: { uid: string; states: { name: string; changes: { field: string; a: unknown; b: unknown }[]; content?: unknown }[] }[] };
    const counter = diff.operators.find((op) => op.uid === 'counter');
    expect(counter?.states).toEqual([
      { name: 'count', scope: 'keyed', status: 'changed', kind: 'value', changes: [], content: { added: 1, removed: 1, changed: 1 } },
      { name: 'by-item', scope: 'keyed', status: 'changed', kind: 'map', changes: [{ field: 'replayedEntries', a: 8, b: 1 }], content: { added: 0, removed: 7, changed: 0 } },
    ]);
    const all = diff.operators.flatMap((op) => op.states.flatMap((s) => s.changes));
    expect(all.filter((c) => JSON.stringify(c.a) === JSON.stringify(c.b))).toEqual([]);
  });

  it('diff --entries of a checkpoint and a native savepoint lists the keys below, so the state line does not point to --entries', async () => {
    const result = await runFlink(['diff', '--entries', chk(2), join(ROOT, 'fixtures', 'savepoints', 'v3', 'native-savepoint')]);
    expect(result.code).toBe(1);
    expect(result.stdout).toContain("    ~ keyed state 'count' (value): keys: 1 added, 1 removed, 1 changed\n");
    expect(result.stdout).toContain('entries of counter/count: 1 added, 1 removed, 1 changed\n');
  });

  it('inspect --key reads one key group replayed: a key deleted then set again, and one deleted', async () => {
    const back = await runFlink(['inspect', chk(3), '--key', '"user-15"']);
    expect(back.stdout).toBe('{"operator":"counter","state":"count","keyGroup":45,"key":"user-15","value":150}\n');
    const gone = await runFlink(['inspect', chk(3), '--key', '"user-17"']);
    expect(gone.code).toBe(1);
    expect(gone.stderr).toMatch(/^Key "user-17" not found in any keyed state of /);
  });

  describe('rekeyed', () => {
    let dir: Awaited<ReturnType<typeof tempDir>>;
    beforeAll(async () => {
      dir = await tempDir();
    });
    afterAll(async () => {
      await dir?.remove();
    });

    it('becomes a self-contained savepoint of the same replayed entries', async () => {
      const target = join(dir.path, 'rekeyed');
      const rekey = await runFlink(['rekey', chk(3), target, '--max-parallelism', '64']);
      expect(rekey.code).toBe(0);
      const reader = await SnapshotReader.open(new LocalObjectStore(target));
      expect(reader.metadata.formatVersion).toBe(1);
      expect(reader.metadata.files.every((f) => f.shared === undefined && !f.path.includes('/'))).toBe(true);
      expect(await content(reader)).toEqual(expected(3));
      const diff = await runFlink(['diff', chk(3), target, '--entries']);
      expect(diff.stdout).toMatch(/entries differ in 0 state\(s\)/);
    });
  });

  describe('flink gc', () => {
    let dir: Awaited<ReturnType<typeof tempDir>>;
    beforeAll(async () => {
      dir = await tempDir();
    });
    afterAll(async () => {
      await dir?.remove();
    });

    it('keeps the shared files a remaining checkpoint refers to, deletes the rest', async () => {
      const root = join(dir.path, 'gc');
      await cp(FIXTURE, root, { recursive: true });
      const port = String(await freePort());
      const result = await runFlink(['gc', '--keep', '1', '-D', `rest.port=${port}`, root]);
      expect(result.code).toBe(0);
      // chk-3 refers to the keyed files of all three checkpoints but only to its own operator-state files.
      expect((await readdir(join(root, JOB, 'shared'))).sort()).toEqual([
        '0da08f51eaa8-0-chk1.tsfs', '0da08f51eaa8-0-chk2.tsfs', '0da08f51eaa8-0-chk3.tsfs',
        '0da08f51eaa8-1-chk1.tsfs', '0da08f51eaa8-1-chk2.tsfs', '0da08f51eaa8-1-chk3.tsfs',
        'e5a72f353fc1-0-chk3.tsfs', 'e5a72f353fc1-1-chk3.tsfs',
      ]);
      expect(await content(await SnapshotReader.open(new LocalObjectStore(chk(3, root))))).toEqual(expected(3));
    });
  });

  describe('damaged', () => {
    let dir: Awaited<ReturnType<typeof tempDir>>;
    beforeAll(async () => {
      dir = await tempDir();
    });
    afterAll(async () => {
      await dir?.remove();
    });

    it('reports a flipped byte, a truncated file and a missing file in the shared directory, naming each', async () => {
      const root = join(dir.path, 'damaged');
      await cp(FIXTURE, root, { recursive: true });
      const shared = join(root, JOB, 'shared');
      const names = (await readdir(shared)).sort();
      const [flipped, truncated, missing] = ['0da08f51eaa8-0-chk1.tsfs', '0da08f51eaa8-1-chk2.tsfs', '0da08f51eaa8-1-chk1.tsfs'];
      expect(names).toEqual(expect.arrayContaining([flipped, truncated, missing]));
      const bytes = await readFile(join(shared, flipped));
      bytes[100] = bytes[100]! ^ 0xff;
      await writeFile(join(shared, flipped), bytes);
      await truncate(join(shared, truncated), 100);
      await rm(join(shared, missing));
      const result = await runFlink(['verify', chk(3, root)]);
      expect(result.code).toBe(1);
      const lines = result.stdout.replaceAll(dir.path, '<tmp>').split('\n');
      expect(lines).toEqual(
        expect.arrayContaining([
          `CORRUPT <tmp>/damaged/${JOB}/shared/${missing}: missing (referenced by _metadata as a shared file)`,
          `CORRUPT <tmp>/damaged/${JOB}/shared/${truncated}: size is 100 bytes, _metadata says 235`,
          expect.stringMatching(new RegExp(`^CORRUPT <tmp>/damaged/${JOB}/shared/${flipped} at offset \\d+: frame checksum mismatch$`)),
        ]),
      );
    });

    it('inspect names a missing shared file and a truncated one, says the checkpoint cannot be restored from, and exits 1; --entries, --keys and --key refuse in one line before printing', async () => {
      const root = join(dir.path, 'missing-shared');
      await cp(FIXTURE, root, { recursive: true });
      const [missing, truncated] = ['0da08f51eaa8-1-chk1.tsfs', '0da08f51eaa8-1-chk2.tsfs'];
      await rm(join(root, JOB, 'shared', missing));
      await truncate(join(root, JOB, 'shared', truncated), 100);
      const at = (name: string): string => join(root, JOB, 'shared', name);
      const verify = `(run 'flink verify ${chk(3, root)}' to check every byte)`;

      const text = await runFlink(['inspect', chk(3, root)]);
      expect(text.code).toBe(1);
      expect(text.stdout).toMatch(/^Checkpoint \(canonical\)\n/);
      expect(text.stderr).toBe(
        `${at(missing)}: missing (_metadata refers to it as a shared file); this checkpoint cannot be restored from as it is ${verify}\n` +
          `${at(truncated)}: size is 100 bytes, _metadata says 235; this checkpoint cannot be restored from as it is ${verify}\n`,
      );

      const json = await runFlink(['inspect', chk(3, root), '--json']);
      expect(json.code).toBe(1);
      expect((JSON.parse(json.stdout) as { fileProblems?: unknown }).fileProblems).toEqual([
        { file: at(missing), shared: true, problem: 'missing', recordedSize: expect.any(Number) as unknown },
        { file: at(truncated), shared: true, problem: 'size', size: 100, recordedSize: 235 },
      ]);

      for (const flags of [['--entries'], ['--keys'], ['--key', '"user-15"']]) {
        const result = await runFlink(['inspect', chk(3, root), ...flags]);
        expect([result.code, result.stdout], flags.join(' ')).toEqual([2, '']);
        expect(result.stderr).toBe(
          `${at(missing)}: missing (_metadata refers to it as a shared file); its entries cannot be read and this checkpoint cannot be restored from as it is ${verify} (and 1 more file(s) missing or of another size; see 'flink inspect ${chk(3, root)}')\n`,
        );
      }

      // The intact fixture inspects as before: exit 0, nothing on stderr, no fileProblems.
      const intact = await runFlink(['inspect', chk(3), '--json']);
      expect([intact.code, intact.stderr]).toEqual([0, '']);
      expect(JSON.parse(intact.stdout)).not.toHaveProperty('fileProblems');
    });
  });

  describe('in S3', () => {
    let server: S3TestServer;
    const remote = `s3://checkpoints/jobs/${JOB}/chk-3`;
    beforeAll(async () => {
      server = await startS3Server();
      await server.createBucket('checkpoints');
      const store = new S3ObjectStore('s3://checkpoints/jobs', { endpoint: server.endpoint, credentials: server.credentials });
      for (const sub of ['chk-3', 'shared']) {
        for (const name of await readdir(join(FIXTURE, JOB, sub))) {
          await store.publish(`${JOB}/${sub}/${name}`, await readFile(join(FIXTURE, JOB, sub, name)));
        }
      }
    });
    afterAll(async () => {
      await server?.stop();
    });

    it('reads shared files from the root two levels above the snapshot, as on disk', async () => {
      const reader = await SnapshotReader.open(new S3ObjectStore(remote, { endpoint: server.endpoint, credentials: server.credentials }));
      expect(await content(reader)).toEqual(expected(3));
      expect(reader.describeFile(0)).toMatch(new RegExp(`^s3://checkpoints/jobs/${JOB}/shared/`));
      const verify = await runFlink(['verify', remote], { env: { ...server.env } });
      expect(verify.stdout).toMatch(/^OK s3:\/\/checkpoints\/jobs\/3c0ffee0000000000000000000000003\/chk-3: checkpoint in format version 3; checked 8 data file\(s\)/);
      const local = await runFlink(['diff', remote, chk(3), '--entries'], { env: { ...server.env } });
      expect(local.stdout).toMatch(/Snapshots hold the same operators and states\.\n$/);
      expect(local.code).toBe(0);
    });
  });
});
