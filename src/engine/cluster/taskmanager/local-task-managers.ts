/**
 * The TaskManagers `flink cluster start` brings up with its JobManager (`taskmanager.count`):
 * child processes of the JobManager running `flink taskmanager`, each logging to
 * `log/taskmanager-<n>.log`, with what its slots print (stdout) in `log/taskmanager-<n>.out`. One that dies is started again after a second, as a resource
 * manager (Kubernetes, YARN) replaces a lost TaskManager; they all stop with the JobManager.
 * The resource manager (resource-manager.ts) starts more for waiting jobs and stops idle ones.
 */
import { type ChildProcess, fork } from 'node:child_process';
import { closeSync, openSync } from 'node:fs';
import { join } from 'node:path';

const FLINK_ENTRY = new URL('../../../../bin/flink.js', import.meta.url);
const RESTART_DELAY_MS = 1000;
const STOP_GRACE_MS = 10_000;

export interface LocalTaskManagers {
  /** Starts one more (numbered after the highest running); returns its number. */
  add(): number;
  /** Pids of those running by number; undefined: waiting to start again after it died. */
  pids(): ReadonlyMap<number, number | undefined>;
  /** Stops the one with this pid for good (SIGTERM, SIGKILL after a grace); false if none has it. */
  retire(pid: number): boolean;
  stop(): Promise<void>;
}

export function startLocalTaskManagers(count: number, options: { readonly jobManagerUrl: string; readonly config: Readonly<Record<string, string>>; readonly logDirectory: string; readonly log: (line: string) => void }): LocalTaskManagers {
  const children = new Map<number, ChildProcess>();
  /** Numbers waiting out RESTART_DELAY_MS after a death: taken, not running. */
  const restarting = new Set<number>();
  let stopping = false;
  const defines = Object.entries(options.config).flatMap(([k, v]) => ['-D', `${k}=${v}`]);
  const start = (n: number): void => {
    // As Flink's taskexecutor .out and .log: what jobs print, apart from what the TaskManager says.
    const out = openSync(join(options.logDirectory, `taskmanager-${n}.out`), 'a');
    const err = openSync(join(options.logDirectory, `taskmanager-${n}.log`), 'a');
    let child: ChildProcess;
    try {
      child = fork(FLINK_ENTRY, ['taskmanager', '-m', options.jobManagerUrl.replace(/^https?:\/\//, ''), ...defines], { stdio: ['ignore', out, err, 'ipc'] });
    } finally {
      closeSync(out);
      closeSync(err);
    }
    children.set(n, child);
    options.log(`started TaskManager ${n} (pid ${child.pid}); its log is log/taskmanager-${n}.log, what jobs print in it log/taskmanager-${n}.out`);
    child.on('exit', (code, signal) => {
      if (children.get(n) !== child) return;
      children.delete(n);
      if (stopping) return;
      options.log(`TaskManager ${n} (pid ${child.pid}) ${signal === null ? `exited with code ${code}` : `was killed by ${signal}`}; starting a new one`);
      restarting.add(n);
      setTimeout(() => {
        restarting.delete(n);
        if (!stopping) start(n);
      }, RESTART_DELAY_MS).unref();
    });
  };
  for (let n = 1; n <= count; n++) start(n);
  return {
    add: () => {
      let n = 1;
      while (children.has(n) || restarting.has(n)) n++;
      start(n);
      return n;
    },
    pids: () => new Map<number, number | undefined>([...[...children].map(([n, c]) => [n, c.pid] as const), ...[...restarting].map((n) => [n, undefined] as const)]),
    retire: (pid) => {
      const entry = [...children].find(([, c]) => c.pid === pid);
      if (entry === undefined) return false;
      const [n, child] = entry;
      children.delete(n);
      child.kill('SIGTERM');
      setTimeout(() => child.kill('SIGKILL'), STOP_GRACE_MS).unref();
      return true;
    },
    stop: async () => {
      stopping = true;
      await Promise.all(
        [...children.values()].map(
          (child) =>
            new Promise<void>((resolve) => {
              if (child.exitCode !== null || child.signalCode !== null) return resolve();
              child.once('exit', () => resolve());
              child.kill('SIGTERM');
              setTimeout(() => child.kill('SIGKILL'), STOP_GRACE_MS).unref();
            }),
        ),
      );
    },
  };
}
