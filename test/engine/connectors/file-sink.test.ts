/**
 * FileSink's part-file lifecycle driven by hand, as the engine drives it: in-progress files are
 * hidden, checkpoints pre-commit, completion renames, commits are idempotent (twice, after a
 * restore), a restore removes the failed attempt's files and never reuses a name, and the part
 * counters survive rescaling.
 */
import { readFile, readdir } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type RuntimeContext, createRuntimeContext } from '../../../src/engine/api/runtime-context.ts';
import { FileSink } from '../../../src/engine/connectors/file-sink.ts';
import { OperatorStateStore, type OperatorStateSnapshot } from '../../../src/engine/state/operator-state-store.ts';
import { tempDir } from '../../support/temp-dir.ts';

let dir: Awaited<ReturnType<typeof tempDir>>;
beforeAll(async () => {
  dir = await tempDir();
});
afterAll(async () => {
  await dir.remove();
});

interface Started {
  readonly sink: FileSink<string>;
  readonly store: OperatorStateStore;
}

async function start(out: string, options: { subtask?: number; parallelism?: number; attempt?: number; restore?: OperatorStateStore } = {}): Promise<Started> {
  const store = options.restore ?? new OperatorStateStore('sink');
  const runtime: RuntimeContext = createRuntimeContext(
    { jobId: 'job-a', operatorUid: 'sink', taskName: 'Sink', subtaskIndex: options.subtask ?? 0, parallelism: options.parallelism ?? 1, maxParallelism: 128, attemptNumber: options.attempt ?? 0, checkpointingEnabled: false },
    undefined,
    store,
  );
  const sink = new FileSink<string>(out, { encoder: (s) => s });
  await sink.initializeState({ isRestored: options.restore !== undefined, runtime });
  return { sink, store };
}

/** The state a restored subtask gets: the union state of every snapshot, the pending transactions of some. */
function restoredFrom(union: readonly OperatorStateSnapshot[], split: readonly OperatorStateSnapshot[]): OperatorStateStore {
  const store = new OperatorStateStore('sink');
  for (const snapshot of union) {
    for (const s of snapshot.states) {
      if (s.kind === 'list' && (s.info.mode === 'union' || split.includes(snapshot))) store.restoreList(s.info, s.elements);
    }
  }
  return store;
}

async function write(sink: FileSink<string>, ...lines: string[]): Promise<void> {
  for (const line of lines) await sink.invoke(line);
}

async function listing(out: string): Promise<string[]> {
  return (await readdir(out)).sort();
}

/** What a reader of the directory sees: the lines of the `part-*` files. */
async function committed(out: string): Promise<Record<string, string>> {
  const files = (await readdir(out)).filter((n) => n.startsWith('part-')).sort();
  return Object.fromEntries(await Promise.all(files.map(async (f) => [f, await readFile(join(out, f), 'utf8')] as const)));
}

describe('FileSink', () => {
  it('moves part files from in-progress to pending to finished, committing idempotently', async () => {
    const out = join(dir.path, 'lifecycle');
    const { sink, store } = await start(out);
    await write(sink, 'a', 'b');
    expect(await listing(out)).toEqual([]); // buffered: nothing on disk yet
    await sink.snapshotState({ checkpointId: 1 });
    const chk1 = store.snapshot();
    expect(await listing(out)).toEqual(['.part-0-0.inprogress']); // pending, still hidden
    expect(await committed(out)).toEqual({});
    await sink.notifyCheckpointComplete(1);
    expect(await listing(out)).toEqual(['part-0-0']);
    await sink.notifyCheckpointComplete(1); // a retried notification
    expect(await committed(out)).toEqual({ 'part-0-0': 'a\nb\n' });

    // Restored from checkpoint 1, whose transaction was committed already: committing it again is a no-op.
    const again = await start(out, { attempt: 1, restore: restoredFrom([chk1], [chk1]) });
    expect(await committed(out)).toEqual({ 'part-0-0': 'a\nb\n' });
    await write(again.sink, 'c');
    await again.sink.finish(); // end of a bounded input commits the last transaction
    expect(await committed(out)).toEqual({ 'part-0-0': 'a\nb\n', 'part-0-1': 'c\n' });
    expect(await listing(out)).toEqual(['part-0-0', 'part-0-1']);
  });

  it('on restore commits the checkpoint, removes the failed attempt, and never reuses a name', async () => {
    const out = join(dir.path, 'restore');
    const first = await start(out);
    await write(first.sink, 'a');
    await first.sink.snapshotState({ checkpointId: 1 });
    const chk1 = first.store.snapshot();
    await first.sink.notifyCheckpointComplete(1);
    await write(first.sink, 'b', 'c');
    await first.sink.snapshotState({ checkpointId: 2 }); // completes, but the notification is lost
    const chk2 = first.store.snapshot();
    await write(first.sink, 'dropped');
    await first.sink.snapshotState({ checkpointId: 3 }); // never completes
    await write(first.sink, 'lost'); // buffered when the attempt fails
    expect(await listing(out)).toEqual(['.part-0-1.inprogress', '.part-0-2.inprogress', 'part-0-0']);
    expect(await committed(out)).toEqual({ 'part-0-0': 'a\n' }); // a reader sees no uncommitted line

    const second = await start(out, { attempt: 1, restore: restoredFrom([chk2], [chk2]) });
    expect(await listing(out)).toEqual(['part-0-0', 'part-0-1']); // chk 2 committed, chk 3's file removed
    await write(second.sink, 'replayed!');
    await second.sink.snapshotState({ checkpointId: 4 });
    await second.sink.notifyCheckpointComplete(4);
    expect(await committed(out)).toEqual({ 'part-0-0': 'a\n', 'part-0-1': 'b\nc\n', 'part-0-2': 'replayed!\n' });

    // A zombie of the first attempt committing its abandoned transaction is refused, not applied.
    await expect(first.sink.notifyCheckpointComplete(3)).rejects.toThrow(/cannot commit .*\.part-0-2\.inprogress \(job job-a\)/);
    expect(await committed(out)).toEqual({ 'part-0-0': 'a\n', 'part-0-1': 'b\nc\n', 'part-0-2': 'replayed!\n' });

    // Restoring an older checkpoint again numbers past every existing part file: nothing is overwritten.
    const third = await start(out, { attempt: 0, restore: restoredFrom([chk1], [chk1]) });
    await write(third.sink, 'x');
    await third.sink.finish();
    expect(await committed(out)).toEqual({ 'part-0-0': 'a\n', 'part-0-1': 'b\nc\n', 'part-0-2': 'replayed!\n', 'part-0-3': 'x\n' });
  });

  it('refuses an encoder that returns a line break, which would change the lines a reader sees', async () => {
    const out = join(dir.path, 'encoder');
    const store = new OperatorStateStore('sink');
    const runtime = createRuntimeContext({ jobId: 'job-b', operatorUid: 'sink', taskName: 'Sink', subtaskIndex: 0, parallelism: 1, maxParallelism: 128, attemptNumber: 0, checkpointingEnabled: false }, undefined, store);
    const sink = new FileSink<string>(out, { encoder: (s) => `${s}\n${s}` });
    await sink.initializeState({ isRestored: false, runtime });
    await expect(sink.invoke('x')).rejects.toThrow(/file sink: the encoder returned a line with a line break/);
  });

  it('keeps the part counters of every subtask index across a scale-down and up', async () => {
    const out = join(dir.path, 'rescale');
    const chk2: OperatorStateSnapshot[] = [];
    for (const i of [0, 1]) {
      const { sink, store } = await start(out, { subtask: i, parallelism: 2 });
      await write(sink, `s${i}-a`);
      await sink.snapshotState({ checkpointId: 1 });
      await sink.notifyCheckpointComplete(1);
      await write(sink, `s${i}-b`);
      await sink.snapshotState({ checkpointId: 2 }); // completed, not yet committed at the failure
      chk2.push(store.snapshot());
      await write(sink, `s${i}-c`);
      await sink.snapshotState({ checkpointId: 3 }); // a leftover of the failed attempt
    }
    expect(await listing(out)).toEqual(['.part-0-1.inprogress', '.part-0-2.inprogress', '.part-1-1.inprogress', '.part-1-2.inprogress', 'part-0-0', 'part-1-0']);

    // At parallelism 1, subtask 0 commits both pending files and removes index 1's leftover too.
    const p1 = await start(out, { restore: restoredFrom(chk2, chk2) });
    expect(await listing(out)).toEqual(['part-0-0', 'part-0-1', 'part-1-0', 'part-1-1']);
    await write(p1.sink, 'p1');
    await p1.sink.snapshotState({ checkpointId: 4 });
    const chk4 = p1.store.snapshot();
    await p1.sink.notifyCheckpointComplete(4);

    // Back at parallelism 2, subtask 1 continues index 1's counter, carried by subtask 0 meanwhile.
    for (const i of [0, 1]) {
      const { sink } = await start(out, { subtask: i, parallelism: 2, restore: restoredFrom([chk4], i === 0 ? [chk4] : []) });
      await write(sink, `again-${i}`);
      await sink.finish();
    }
    expect(await committed(out)).toEqual({
      'part-0-0': 's0-a\n',
      'part-0-1': 's0-b\n',
      'part-0-2': 'p1\n',
      'part-0-3': 'again-0\n',
      'part-1-0': 's1-a\n',
      'part-1-1': 's1-b\n',
      'part-1-2': 'again-1\n',
    });
    expect((await listing(out)).filter((n) => n.startsWith('.'))).toEqual([]);
  });
});
