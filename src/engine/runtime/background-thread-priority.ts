/**
 * Checkpoint work that runs beside the processing thread (the chain rewrite thread, the lmdb
 * snapshot thread) runs at a lower scheduling priority than it, as RocksDB lowers its compaction
 * threads (`Env::LowerThreadPoolCPUPriority`): on a machine with few cores the kernel otherwise
 * shares a core evenly between the processing thread and these threads, and every millisecond the
 * processing thread waits on the run queue is a millisecond of throughput lost to the checkpoint.
 *
 * Measured (issue 13, `profile-engine`, rocksdb, 6M records, 1M keys, incremental checkpoints
 * every second, /proc/<pid>/task/<tid>/schedstat; README, P2): while other test runs used the
 * cores, the processing thread waited 4.2-4.9 s on the run queue over a run with the threads at
 * its priority and 1.4-1.6 s with them at nice 10 (records/s 0.35-0.38M against 0.48-0.49M, two
 * rounds). On an idle machine it made no difference beyond the spread (waits 0.7-0.9 s either
 * way, 0.3 s with checkpointing off), and with one `yes` competing the records/s were mixed.
 *
 * Nice 10 rather than 19: a thread at 19 gets about 1.5% of a core that a nice-0 thread wants, so
 * on a machine busy with other work a checkpoint's background part could take many times the
 * checkpoint timeout; at 10 it gets about a tenth, and all of an idle core.
 *
 * Linux only: there a thread id is a valid target of setpriority(PRIO_PROCESS) and changes that
 * thread alone. Elsewhere the same call would change the whole process (the processing thread
 * included), so it is not made.
 */
import { readlinkSync } from 'node:fs';
import { getPriority, setPriority } from 'node:os';

export const BACKGROUND_NICE = 10;

export interface ThreadPriorityDeps {
  readonly platform: NodeJS.Platform;
  /** The calling thread's `/proc/thread-self` link: `<pid>/task/<tid>`. */
  readonly threadSelf: () => string;
  readonly getPriority: (pid: number) => number;
  readonly setPriority: (pid: number, priority: number) => void;
}

const REAL: ThreadPriorityDeps = {
  platform: process.platform,
  threadSelf: () => readlinkSync('/proc/thread-self'),
  getPriority,
  setPriority,
};

/** `nice`: the thread's nice value now. */
export type LoweredPriority = { readonly lowered: true; readonly tid: number; readonly nice: number } | { readonly lowered: false; readonly why: string };

/**
 * Lowers the calling thread's priority by `nice` (its nice value goes up by that much, to at most
 * 19, from the one it inherited: a process started with `nice` keeps its threads' order). Never
 * throws: a thread left at normal priority does the same work, only competing harder with the
 * processing thread.
 */
export function lowerThisThreadPriority(nice: number = BACKGROUND_NICE, deps: ThreadPriorityDeps = REAL): LoweredPriority {
  if (deps.platform !== 'linux') return { lowered: false, why: `per-thread priorities are set on Linux only (this is ${deps.platform})` };
  let link: string;
  try {
    link = deps.threadSelf();
  } catch (err) {
    return { lowered: false, why: `cannot read /proc/thread-self: ${err instanceof Error ? err.message : String(err)}` };
  }
  const [pid, task, tid] = link.split('/').map((part, i) => (i === 1 ? part : Number(part))) as [number, string, number];
  if (task !== 'task' || !Number.isInteger(pid) || !Number.isInteger(tid) || tid <= 0) return { lowered: false, why: `cannot tell this thread's id from /proc/thread-self (${link})` };
  // The main thread's id is the process id, and lowering it would lower the processing thread too.
  if (tid === pid) return { lowered: false, why: "this is the process's main thread" };
  try {
    const target = Math.min(19, deps.getPriority(tid) + nice);
    deps.setPriority(tid, target);
    return { lowered: true, tid, nice: target };
  } catch (err) {
    return { lowered: false, why: `setpriority failed: ${err instanceof Error ? err.message : String(err)}` };
  }
}
