/**
 * The chain rewrite thread writes the key groups an incremental checkpoint rewrites to keep its
 * chains bounded from the base chain's files and the changes since the base: the checkpoint's
 * file must be byte for byte the one written by reading those groups whole from the store, and a
 * rewrite the thread cannot make (a damaged base file, changes the backend did not record where
 * only recorded ones are taken) must read the group whole from the store, never write a wrong
 * full block.
 */
import { execFile } from 'node:child_process';
import { copyFile, mkdir, open, readFile, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { promisify } from 'node:util';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { tempDir } from '../../../test/support/temp-dir.ts';
import { DataFileWriter } from '../../format/data-file-writer.ts';
import { LocalObjectStore } from '../../storage/local-store.ts';
import { createEmbeddedKeyedStateBackend } from '../state/embedded/create-embedded-backend.ts';
import type { KeyedStateBackend } from '../state/keyed-state-backend.ts';
import { applyValueOp, checkpointBothWays, valueOpArb } from '../state/embedded/value-ops-test-support.ts';
import { stateInfoOf, valueState } from '../state/state-descriptors.ts';
import { keyGroupFor } from '../../format/key-groups.ts';
import { encodeCanonicalKey } from '../../format/canonical-key.ts';
import { readArrayHeader, valueBounds } from '../../format/msgpack-scan.ts';
import { createValuePackr } from '../../format/value-codec.ts';
import { unpack } from 'msgpackr';
import { completeChains, writeIncrementalKeyedSnapshot } from '../state/write-incremental-keyed-snapshot.ts';
import { ChainBook } from './chain-book.ts';
import type { ChainLimits } from './chain-policy.ts';
import { type ChainRewriter, chainRewriter, chainRewriteThread } from './chain-rewrite-thread.ts';

const MAX_P = 8;

const range = (from: number, to: number): number[] => Array.from({ length: to - from }, (_, i) => from + i);

interface Checkpointing {
  readonly backend: KeyedStateBackend;
  readonly store: LocalObjectStore;
  /** Undefined: every key group the writer rewrites is read from the store. */
  readonly rewriter: ChainRewriter | undefined;
  readonly book: ChainBook;
  readonly limits: ChainLimits;
}

/** Sets value state 'v' of each of `keys` to key * id, then writes checkpoint `id` as a job does and confirms it. */
async function checkpointKeys({ backend, store, rewriter, book, limits }: Checkpointing, id: number, keys: readonly number[]) {
  for (const k of keys) {
    backend.setCurrentKey(k);
    backend.getState(valueState<number>('v')).update(k * id);
  }
  const sharedPath = `job/shared/op-${id}.tsfs`;
  const writer = await DataFileWriter.create(store, sharedPath);
  const result = await writeIncrementalKeyedSnapshot(backend.snapshot({ checkpointId: id }), writer, { operatorUid: 'op', sharedPath, base: book.base, checkpointId: id, limits, ...(rewriter === undefined ? {} : { rewrite: rewriter }) });
  const chains = completeChains(result, (await writer.close()).size);
  book.record(id, chains);
  if (book.confirm(id)) backend.confirmChanges!(id);
  return { result, chains, sharedPath };
}
/**
 * Two rocksdb backends over every key group, and a checkpoint store for each under `<root>/<name>`: the first for
 * checkpoints written with the thread (`rewritten`), the second for those read from the store (`read`).
 */
function bothWays(root: string, name: string, cacheBytes?: number) {
  const options = { keyGroupRange: { start: 0, end: MAX_P - 1 }, maxParallelism: MAX_P, localDir: root, ...(cacheBytes === undefined ? {} : { cacheBytes }) };
  return {
    backends: [createEmbeddedKeyedStateBackend('rocksdb', options), createEmbeddedKeyedStateBackend('rocksdb', options)] as const,
    stores: [new LocalObjectStore(`${root}/${name}/rewritten`), new LocalObjectStore(`${root}/${name}/read`)] as const,
  };
}

/** Each key group's turn every 2 checkpoints: most checkpoints after the second rewrite some groups. */
const LIMITS: ChainLimits = { maxDeltaSteps: 2, maxDeltaRatio: 1 };

describe('the chain rewrite thread', () => {
  let dir: Awaited<ReturnType<typeof tempDir>>;
  let runs = 0;
  beforeAll(async () => {
    dir = await tempDir('tsflink-chain-rewrite-test-');
    // Nothing waits for the thread in a job; here every case must find it ready.
    expect(await chainRewriteThread().whenReady).toBe(true);
  });
  afterAll(async () => {
    await dir.remove();
  });

  it('lets a process that started it, and the lmdb snapshot thread, exit by itself without asking anything of them', async () => {
    // Started at a process's first incremental checkpoint, also where no rewrite is ever asked for (hashmap): an
    // unref() made before a thread was up did not hold, and such a process never exited.
    const loaders = new URL('../../../bin/register-loaders.js', import.meta.url).pathname;
    for (const [name, module, start] of [
      ['rewrite', new URL('./chain-rewrite-thread.ts', import.meta.url).pathname, 'chainRewriteThread'],
      ['lmdb', new URL('../state/embedded/lmdb-snapshot-thread.ts', import.meta.url).pathname, 'lmdbSnapshotThread'],
    ] as const) {
      const script = `${dir.path}/start-${name}.mts`;
      await writeFile(script, `import { ${start} } from '${module}';\nconsole.log('ready', await ${start}().whenReady);\n`);
      const { stdout } = await promisify(execFile)(process.execPath, ['--import', loaders, script], { timeout: 30_000 });
      expect(stdout).toBe('ready true\n');
    }
  });

  it('writes incremental checkpoints byte for byte as reading the rewritten key groups from the store does', async () => {
    let rewritten = 0;
    const deltasBefore = chainRewriteThread().written.deltas;
    await fc.assert(
      fc.asyncProperty(fc.array(fc.record({ before: fc.array(valueOpArb, { minLength: 1, maxLength: 120 }), after: fc.array(valueOpArb, { maxLength: 60 }) }), { minLength: 3, maxLength: 7 }), async (rounds) => {
        const run = runs++;
        const { backends, stores } = bothWays(dir.path, `run-${run}`, run % 2 === 0 ? 2048 : 8 << 20);
        const rewriter = chainRewriter(stores[0]!.location);
        const books = [new ChainBook(), new ChainBook()];
        try {
          for (const b of backends) b.trackChanges!(undefined);
          for (let id = 1; id <= rounds.length; id++) {
            const round = rounds[id - 1]!;
            for (const op of round.before) for (const b of backends) applyValueOp(b, op);
            const snapshots = backends.map((b) => b.snapshot({ checkpointId: id }));
            // Changes after the snapshot must not reach its checkpoint.
            for (const op of round.after) for (const b of backends) applyValueOp(b, op);
            await checkpointBothWays(
              id,
              backends.map((backend, i) => ({ backend, snapshot: snapshots[i]!, store: stores[i]!, book: books[i]! })),
              (i) => ({ limits: LIMITS, ...(i === 0 ? { rewrite: rewriter } : {}) }),
            );
          }
          rewritten += rewriter.rewritten;
        } finally {
          for (const b of backends) await b.dispose();
        }
      }),
      { numRuns: 25 },
    );
    // From the third checkpoint on, about half of the key groups that hold something are rewritten at each.
    expect(rewritten).toBeGreaterThan(25 * 4);
    // And the deltas were written by the thread from the records of writes where they covered the checkpoint.
    expect(chainRewriteThread().written.deltas - deltasBefore).toBeGreaterThan(25 * 4);
  });

  it('rewrites key groups whose chains passed their delta ratio from the files where the records of writes hold the changes, else from the store', async () => {
    // Steps never run out here, so no group takes its staggered turn: every rewrite at checkpoint 3 is forced by the ratio.
    const limits: ChainLimits = { maxDeltaSteps: 100, maxDeltaRatio: 1 };
    const files: Buffer[] = [];
    // 8 MiB: the records of writes reach back to checkpoint 2. 4 KiB: the 100 keys written after it are past the records'
    // budget, which drops them, so the changes would be read from the store one key at a time; the groups are read whole
    // instead, as before the thread.
    for (const cacheBytes of [8 << 20, 4096]) {
      const backend = createEmbeddedKeyedStateBackend('rocksdb', { keyGroupRange: { start: 0, end: MAX_P - 1 }, maxParallelism: MAX_P, localDir: dir.path, cacheBytes });
      const store = new LocalObjectStore(`${dir.path}/ratio-${cacheBytes}`);
      const rewriter = chainRewriter(store.location);
      const book = new ChainBook();
      try {
        backend.trackChanges!(undefined);
        const at = { backend, store, rewriter, book, limits };
        await checkpointKeys(at, 1, range(0, 200));
        // Twice as many keys as the base holds: every group's delta passes the ratio.
        await checkpointKeys(at, 2, range(0, 400));
        const before = rewriter.rewritten;
        const third = await checkpointKeys(at, 3, range(0, 100));
        expect(third.result.fullKeyGroups).toBe(MAX_P);
        expect(rewriter.rewritten - before).toBe(cacheBytes === 4096 ? 0 : MAX_P);
        files.push(await readFile(store.describe(third.sharedPath)));
      } finally {
        await backend.dispose();
      }
    }
    expect(files[0]!.equals(files[1]!)).toBe(true);
  });

  it('writes the first checkpoint of a backend that began empty from the changes it recorded, and of a restored one from the store', async () => {
    for (const restored of [false, true]) {
      const { backends, stores } = bothWays(dir.path, `first-${restored}`);
      const rewriter = chainRewriter(stores[0]!.location);
      try {
        for (const b of backends) {
          if (restored) b.restoreKeyGroup(stateInfoOf(valueState<number>('v')), keyGroupFor(1_000_001, MAX_P), [1_000_001], [7], 'a test');
          b.trackChanges!(undefined);
        }
        const files: Buffer[] = [];
        for (let i = 0; i < 2; i++) {
          const first = await checkpointKeys({ backend: backends[i]!, store: stores[i]!, rewriter: i === 0 ? rewriter : undefined, book: new ChainBook(), limits: LIMITS }, 1, range(0, 300));
          expect(first.result.fullKeyGroups).toBe(MAX_P);
          files.push(await readFile(stores[i]!.describe(first.sharedPath)));
        }
        expect(files[0]!.equals(files[1]!)).toBe(true);
        // Every group holds some of the 300 keys; restored, the store holds entries the changes do not tell.
        expect(rewriter.rewritten).toBe(restored ? 0 : MAX_P);
      } finally {
        for (const b of backends) await b.dispose();
      }
    }
  });

  it('waits for a thread that is still starting, and reads from the store when it failed to start', async () => {
    for (const starts of [true, false]) {
      const { backends, stores } = bothWays(dir.path, `starting-${starts}`);
      const thread = chainRewriter(stores[0]!.location);
      // The real thread behind a start that ends only when the checkpoint has begun (or fails).
      let up = false;
      let start: (ok: boolean) => void = () => undefined;
      const ready = new Promise<boolean>((resolve) => (start = resolve));
      const rewriter: ChainRewriter = {
        get available() {
          return up;
        },
        ready,
        readsChains: (chains) => thread.readsChains(chains),
        rewrite: (request) => thread.rewrite(request),
        record: (...args) => thread.record(...args),
        get rewritten() {
          return thread.rewritten;
        },
      };
      try {
        for (const b of backends) b.trackChanges!(undefined);
        const files: Buffer[] = [];
        for (let i = 0; i < 2; i++) {
          const checkpoint = checkpointKeys({ backend: backends[i]!, store: stores[i]!, rewriter: i === 0 ? rewriter : undefined, book: new ChainBook(), limits: LIMITS }, 1, range(0, 300));
          if (i === 0)
            setTimeout(() => {
              up = starts;
              start(starts);
            }, 20);
          const first = await checkpoint;
          expect(first.result.fullKeyGroups).toBe(MAX_P);
          files.push(await readFile(stores[i]!.describe(first.sharedPath)));
        }
        expect(files[0]!.equals(files[1]!)).toBe(true);
        expect(rewriter.rewritten).toBe(starts ? MAX_P : 0);
      } finally {
        for (const b of backends) await b.dispose();
      }
    }
  });

  it('reads a key group whole from the store where a base file is damaged, where it would otherwise rewrite from the files', async () => {
    const wholeGroups: number[] = [];
    for (const damaged of [false, true]) {
      const options = { keyGroupRange: { start: 0, end: MAX_P - 1 }, maxParallelism: MAX_P, localDir: dir.path };
      const backend = createEmbeddedKeyedStateBackend('rocksdb', options);
      const store = new LocalObjectStore(`${dir.path}/damaged-${damaged}`);
      const rewriter = chainRewriter(store.location);
      const book = new ChainBook();
      try {
        backend.trackChanges!(undefined);
        const checkpoint = (id: number, changed: number) => checkpointKeys({ backend, store, rewriter, book, limits: LIMITS }, id, range(0, changed));
        const first = await checkpoint(1, 200);
        if (damaged) {
          // Every block of checkpoint 1 damaged: one byte in the middle of each flipped.
          const file = await open(store.describe(first.sharedPath), 'r+');
          try {
            for (const chain of first.chains.get('v')!.chains.values()) {
              for (const block of chain) {
                const at = block.offset + Math.floor(block.length / 2);
                const byte = Buffer.alloc(1);
                await file.read(byte, 0, 1, at);
                byte[0] = byte[0]! ^ 0xff;
                await file.write(byte, 0, 1, at);
              }
            }
          } finally {
            await file.close();
          }
        }
        // Few changes, so only the stagger rewrites: checkpoint 2 builds deltas on checkpoint 1, and at checkpoint 3 the
        // groups whose turn it is are rewritten from chains that start in checkpoint 1's file.
        await checkpoint(2, 10);
        const before = rewriter.rewritten;
        const third = await checkpoint(3, 10);
        const groups = [...third.chains.get('v')!.chains.values()];
        const rewrittenWhole = groups.filter((chain) => chain[0]!.path === 'job/shared/op-3.tsfs' && chain.length === 1 && chain[0]!.kind === 'full');
        // The same groups are written whole either way: from the files, or (damaged) from the store, which leaves the
        // damaged block out of their chains; the others still build on it.
        expect(rewrittenWhole.length).toBeGreaterThan(0);
        expect(third.result.fullKeyGroups).toBe(rewrittenWhole.length);
        expect(rewriter.rewritten - before).toBe(damaged ? 0 : rewrittenWhole.length);
        wholeGroups.push(rewrittenWhole.length);
        for (const chain of groups) if (!rewrittenWhole.includes(chain)) expect(chain[0]!.path).toBe(first.sharedPath);
      } finally {
        await backend.dispose();
      }
    }
    expect(wholeGroups[1]).toBe(wholeGroups[0]);
  });

  it('asks nothing of the thread for a key group whose base files are not under its root (local copies on S3), and reads the group from the store', async () => {
    for (const copied of [true, false]) {
      const { backends, stores } = bothWays(dir.path, `copies-${copied}`);
      // The thread's root holds copies of the checkpoints' files, as local recovery's root does, or none of them.
      const copies = join(dir.path, `copies-${copied}`, 'local');
      const thread = chainRewriter(copies);
      let asked = 0;
      const rewriter: ChainRewriter = {
        get available() {
          return thread.available;
        },
        ready: thread.ready,
        readsChains: (chains) => thread.readsChains(chains),
        rewrite: (request) => {
          asked += 1;
          return thread.rewrite(request);
        },
        record: (changes, states, maxParallelism, groups, frameLimit) => {
          asked += groups.filter((g) => g.full).length;
          return thread.record(changes, states, maxParallelism, groups, frameLimit);
        },
        get rewritten() {
          return thread.rewritten;
        },
      };
      const books = [new ChainBook(), new ChainBook()];
      try {
        for (const b of backends) b.trackChanges!(undefined);
        const files: Buffer[] = [];
        let askedBefore = 0;
        for (const [id, changed] of [
          [1, 200],
          [2, 10],
          [3, 10],
        ] as const) {
          if (id === 3) askedBefore = asked;
          for (let i = 0; i < 2; i++) {
            const written = await checkpointKeys({ backend: backends[i]!, store: stores[i]!, rewriter: i === 0 ? rewriter : undefined, book: books[i]!, limits: LIMITS }, id, range(0, changed));
            if (i === 0 && copied) {
              const copy = join(copies, written.sharedPath);
              await mkdir(dirname(copy), { recursive: true });
              await copyFile(stores[0]!.describe(written.sharedPath), copy);
            }
            if (id === 3) {
              files.push(await readFile(stores[i]!.describe(written.sharedPath)));
              // Checkpoint 3 rewrites the groups whose turn it is, from chains that start in checkpoint 1's file.
              expect(written.result.fullKeyGroups).toBeGreaterThan(0);
              if (i === 0) expect(asked - askedBefore).toBe(copied ? written.result.fullKeyGroups : 0);
            }
          }
        }
        expect(files[0]!.equals(files[1]!)).toBe(true);
      } finally {
        for (const b of backends) await b.dispose();
      }
    }
  });

  it('writes a full block in store order from a chain block whose keys do not ascend, through a Map', async () => {
    // Never written so by the engine; the thread does not assume it.
    const store = new LocalObjectStore(join(dir.path, 'unordered'));
    const canonical = (k: number): string => Buffer.from(encodeCanonicalKey(k)).toString('latin1');
    const inGroup = range(0, 400).filter((k) => keyGroupFor(k, MAX_P) === 3).slice(0, 12);
    const packed = (n: number): Uint8Array => createValuePackr().pack(n);
    const writer = await DataFileWriter.create(store, 'job/shared/unordered.tsfs');
    // Descending: the block's keys are not in store order.
    const descending = [...inGroup].map(canonical).sort().reverse();
    const block = (await writer.writeCanonicalPackedKeyGroup('v', 'value', 3, MAX_P, descending, descending.map((_, i) => packed(i))))!;
    const { size } = await writer.close();
    const thread = chainRewriter(join(dir.path, 'unordered'));
    expect(await thread.ready).toBe(true);
    const [changed, deleted] = [descending[0]!, descending[1]!];
    const encoded = await thread.rewrite({
      keyGroup: 3,
      maxParallelism: MAX_P,
      frameLimit: writer.frameLimit,
      states: [{ label: 'v', kind: 'value', chain: [{ ...block, fileSize: size, kind: 'full' }], upserts: { keys: [changed], packed: [packed(99)] }, deletions: [deleted] }],
    });
    expect(encoded).toBeDefined();
    const got: [string, unknown][] = [];
    for (const { payload, count } of encoded!.states[0]!) {
      const bytes = Buffer.from(payload);
      const keysHeader = readArrayHeader(bytes, 0);
      const keyBounds = valueBounds(bytes, keysHeader.next, count);
      const valuesHeader = readArrayHeader(bytes, keyBounds[count]!);
      const bounds = valueBounds(bytes, valuesHeader.next, count);
      for (let i = 0; i < count; i++) got.push([bytes.toString('latin1', keyBounds[i]!, keyBounds[i + 1]!), unpack(bytes.subarray(bounds[i]!, bounds[i + 1]!))]);
    }
    const expected = descending.map((k, i): [string, unknown] => [k, k === changed ? 99 : i]).filter(([k]) => k !== deleted).sort(([a], [b]) => (a < b ? -1 : 1));
    expect(got).toEqual(expected);
  });
});
