import { spawn } from 'node:child_process';
import { join } from 'node:path';
import { ROOT } from './run-flink.ts';

const BIN = join(ROOT, 'bin', 'flink.js');

export interface ClosedPipeResult {
  readonly code: number | null;
  readonly signal: NodeJS.Signals | null;
  /** The first line the command wrote before its stdout was closed. */
  readonly first: string;
  readonly stderr: string;
}

/** Runs the real binary with stdout to a pipe that is closed once the first chunk arrives, as `| head -1` does. */
export function runFlinkIntoClosedPipe(args: readonly string[], options: { cwd?: string } = {}): Promise<ClosedPipeResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [BIN, ...args], { cwd: options.cwd ?? ROOT, env: { ...process.env, NO_COLOR: '1', DEBUG: '' }, stdio: ['ignore', 'pipe', 'pipe'] });
    let first = '';
    let stderr = '';
    child.stdout.once('data', (chunk: Buffer) => {
      first = chunk.toString('utf8').split('\n')[0] ?? '';
      child.stdout.destroy();
    });
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString('utf8')));
    child.once('error', reject);
    child.once('close', (code, signal) => resolve({ code, signal, first, stderr }));
  });
}
