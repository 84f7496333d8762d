/**
 * Whether process `pid` still runs, for the pid files and partial directories a process leaves
 * behind. A zombie (it exited, and whoever adopted it has not reaped it: a container whose first
 * process reaps nobody) answers signal 0 like a live process, so it is looked up in /proc: it
 * counts as gone. Without /proc (macOS) the signal's answer stands.
 */
import { existsSync, readFileSync } from 'node:fs';

export function processRunning(pid: number): boolean {
  try {
    process.kill(pid, 0);
  } catch (err) {
    // EPERM: it runs, as another user.
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
  try {
    // The state follows the parenthesised command name: `<pid> (<comm>) <state> ...`.
    return !/\) Z /.test(readFileSync(`/proc/${pid}/stat`, 'utf8'));
  } catch {
    // Gone between the signal and the read, unless there is no /proc to read.
    return !existsSync('/proc/self/stat');
  }
}
