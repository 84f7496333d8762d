/**
 * The TaskManagers `flink cluster start` brings up with its JobManager (`taskmanager.count`):
 * child processes of the JobManager running `flink taskmanager`, each logging to
 * `log/taskmanager-<n>.log`. One that dies is started again after a second, as a resource
 * manager (Kubernetes, YARN) replaces a lost TaskManager; they all stop with the JobManager.
 */
import { type ChildProcess, fork } from 'node:child_process';
import { closeSync, openSync } from 'node:fs';
import { join } from 'node:path';

const FLINK_ENTRY = new URL('../../../../bin/flink.js', import.meta.url);
const RESTART_DELAY_MS = 1000;
const STOP_GRACE_MS = 10_000;

export interface LocalTaskManagers {
  stop(): Promise<void>;
}

export function startLocalTaskManagers(count: number, options: { readonly jobManagerUrl: string; readonly config: Readonly<Record<string, string>>; readonly logDirectory: string; readonly log: (line: string) => void }): LocalTaskManagers {
  const children = new Map<number, ChildProcess>();
  let stopping = false;
  const defines = Object.entries(options.config).flatMap(([k, v]) => ['-D', `${k}=${v}`]);
  const start = (n: number): void => {
    const out = openSync(join(options.logDirectory, `taskmanager-${n}.log`), 'a');
    let child: ChildProcess;
    try {
      child = fork(FLINK_ENTRY, ['taskmanager', '-m', options.jobManagerUrl.replace(/^https?:\/\//, ''), ...defines], { stdio: ['ignore', out, out, 'ipc'] });
    } finally {
      closeSync(out);
    }
    children.set(n, child);
    options.log(`started TaskManager ${n} (pid ${child.pid}); its log is log/taskmanager-${n}.log`);
    child.on('exit', (code, signal) => {
      if (children.get(n) === child) children.delete(n);
      if (stopping) return;
      options.log(`TaskManager ${n} (pid ${child.pid}) ${signal === null ? `exited with code ${code}` : `was killed by ${signal}`}; starting a new one`);
      setTimeout(() => !stopping && start(n), RESTART_DELAY_MS).unref();
    });
  };
  for (let n = 1; n <= count; n++) start(n);
  return {
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
