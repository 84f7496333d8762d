/**
 * What README.md and the key's help give as taskmanager.numberOfTaskSlots' default: unset, the
 * local TaskManager that `flink cluster start` starts offers the machine's cores (Flink's default
 * is 1; tsflink differs on purpose, a slot being one thread), not 1 as the README once said.
 */
import { cpus } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { waitFor } from '../support/cluster-probes.ts';
import { runFlink } from '../support/run-flink.ts';
import { freePort } from '../support/test-cluster.ts';
import { tempDir } from '../support/temp-dir.ts';

let dir: Awaited<ReturnType<typeof tempDir>>;
beforeAll(async () => {
  dir = await tempDir('tsflink-default-slots-');
});
afterAll(async () => {
  await dir.remove();
});

it('a local TaskManager offers as many slots as the machine has cores when the key is unset', async () => {
  const port = await freePort();
  const defines = ['-D', `rest.port=${port}`, '-D', `process.jobmanager.working-dir=${join(dir.path, 'jm')}`, '-D', `blob.storage.directory=${join(dir.path, 'blobs')}`];
  try {
    const started = await runFlink(['cluster', 'start', ...defines], { cwd: dir.path });
    expect(started.code, started.stderr).toBe(0);
    const taskManagers = await waitFor(
      'the local TaskManager to register',
      async () => {
        const body = (await (await fetch(`http://127.0.0.1:${port}/taskmanagers`)).json()) as { taskmanagers: { slotsNumber: number }[] };
        return body.taskmanagers.length > 0 ? body.taskmanagers : undefined;
      },
      30_000,
    );
    expect(taskManagers.map((tm) => tm.slotsNumber)).toEqual([cpus().length]);
  } finally {
    await runFlink(['cluster', 'stop', ...defines], { cwd: dir.path });
  }
}, 60_000);
