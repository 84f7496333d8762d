import { execFile } from 'node:child_process';
import { readFile, writeFile } from 'node:fs/promises';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';
import { tempDir } from '../../../test/support/temp-dir.ts';
import { BACKGROUND_NICE, lowerThisThreadPriority, type ThreadPriorityDeps } from './background-thread-priority.ts';

function deps(overrides: Partial<ThreadPriorityDeps>, calls: [number, number][] = []): ThreadPriorityDeps {
  return { platform: 'linux', threadSelf: () => '100/task/107', getPriority: () => 0, setPriority: (pid, priority) => void calls.push([pid, priority]), ...overrides };
}

describe('lowerThisThreadPriority', () => {
  it("sets the thread's own nice value, by its thread id, on Linux", () => {
    const calls: [number, number][] = [];
    expect(lowerThisThreadPriority(BACKGROUND_NICE, deps({}, calls))).toEqual({ lowered: true, tid: 107, nice: 10 });
    expect(calls).toEqual([[107, 10]]);
  });

  it('lowers it from the nice value the process was started with, to at most 19', () => {
    const calls: [number, number][] = [];
    expect(lowerThisThreadPriority(10, deps({ getPriority: () => 5 }, calls))).toEqual({ lowered: true, tid: 107, nice: 15 });
    expect(lowerThisThreadPriority(10, deps({ getPriority: () => 12 }, calls))).toEqual({ lowered: true, tid: 107, nice: 19 });
    expect(calls).toEqual([
      [107, 15],
      [107, 19],
    ]);
  });

  it('changes nothing where a thread id cannot be told apart from the process (other platforms, the main thread, an odd link)', () => {
    const calls: [number, number][] = [];
    expect(lowerThisThreadPriority(10, deps({ platform: 'darwin' }, calls))).toEqual({ lowered: false, why: 'per-thread priorities are set on Linux only (this is darwin)' });
    expect(lowerThisThreadPriority(10, deps({ threadSelf: () => '100/task/100' }, calls))).toEqual({ lowered: false, why: "this is the process's main thread" });
    expect(lowerThisThreadPriority(10, deps({ threadSelf: () => 'self' }, calls)).lowered).toBe(false);
    expect(calls).toEqual([]);
  });

  it('never throws: a failed call leaves the thread as it was and says why', () => {
    const failing = deps({
      setPriority: () => {
        throw new Error('EACCES');
      },
    });
    expect(lowerThisThreadPriority(10, failing)).toEqual({ lowered: false, why: 'setpriority failed: EACCES' });
    const unreadable = deps({
      threadSelf: () => {
        throw new Error('ENOENT');
      },
    });
    expect(lowerThisThreadPriority(10, unreadable)).toEqual({ lowered: false, why: 'cannot read /proc/thread-self: ENOENT' });
  });

  it.runIf(process.platform === 'linux')('runs the chain rewrite thread and the lmdb snapshot thread at nice 10 and leaves the processing thread at its own', async () => {
    const dir = await tempDir('tsflink-thread-priority-');
    try {
      const loaders = new URL('../../../bin/register-loaders.js', import.meta.url).pathname;
      const rewrite = new URL('../checkpoint/chain-rewrite-thread.ts', import.meta.url).pathname;
      const lmdb = new URL('../state/embedded/lmdb-snapshot-thread.ts', import.meta.url).pathname;
      const script = `${dir.path}/threads.mts`;
      // Prints, once both threads are up, the nice value (field 19 of /proc/<pid>/task/<tid>/stat) of every thread of the process.
      await writeFile(
        script,
        [
          `import { readdir, readFile } from 'node:fs/promises';`,
          `import { chainRewriteThread } from '${rewrite}';`,
          `import { lmdbSnapshotThread } from '${lmdb}';`,
          `await chainRewriteThread().whenReady; await lmdbSnapshotThread().whenReady;`,
          `const out = {};`,
          `for (const tid of await readdir('/proc/self/task')) { const stat = await readFile('/proc/self/task/' + tid + '/stat', 'utf8'); out[tid] = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[16]); }`,
          `console.log(JSON.stringify({ pid: process.pid, nice: out }));`,
        ].join('\n'),
      );
      const { stdout } = await promisify(execFile)(process.execPath, ['--import', loaders, script], { timeout: 30_000 });
      const { pid, nice } = JSON.parse(stdout) as { pid: number; nice: Record<string, number> };
      const own = await readFile('/proc/self/stat', 'utf8');
      const startedAt = Number(own.slice(own.lastIndexOf(')') + 2).split(' ')[16]);
      expect(nice[String(pid)]).toBe(startedAt);
      // Two threads lowered, and the others (V8's and libuv's) left as they started.
      expect(Object.values(nice).filter((n) => n === Math.min(19, startedAt + BACKGROUND_NICE)).length).toBe(2);
      expect(Object.values(nice).filter((n) => n === startedAt).length).toBe(Object.keys(nice).length - 2);
    } finally {
      await dir.remove();
    }
  });
});
