/**
 * bench/engine.ts's `runEngine` in a child process of its own, one run per process: for a
 * comparison of cases (checkpointing off against incremental checkpoints) whose code paths would
 * otherwise train the same functions in one process. Measured (issue 13, hashmap, keyed count at
 * 1M keys, 8M records, `ORDER` of six runs in one process): checkpointing off ran at 937-981 ns
 * per record on the processing thread before any run with checkpoints and at 1123-1167 ns after
 * three; incremental runs at 1057-1121 ns first and 1209-1354 ns after three runs without. A real
 * job's process runs one configuration; interleaving the cases in one process charged each with
 * the other's (the bench's second round came out at 26-31% where the others gave 9-17%).
 *
 * The child (engine-child-main.ts) warms up with a short run of the same configuration, as
 * bench/profile-engine.ts does, then makes the measured run and sends back its figures.
 */
import { fork } from 'node:child_process';
import { once } from 'node:events';
import type { BuiltStateBackendType } from '../src/engine/state/state-backend-type.ts';
import { fmix32 } from '../src/format/murmur3.ts';
import { type EngineRun, keyGenerator, type LoopResult } from './engine.ts';

const REGISTER_LOADERS = new URL('../bin/register-loaders.js', import.meta.url).pathname;
const CHILD = new URL('./engine-child-main.ts', import.meta.url);

/** How record i's key is drawn, as data (a function cannot cross to the child). */
export type KeyDistribution = { readonly kind: 'uniform'; readonly keys: number } | { readonly kind: 'hot'; readonly keys: number; readonly hot: number };

/** Record i's key under `d`; hot: every key once, then the rest on the first `hot` keys' hashes. */
export function keyGeneratorFor(d: KeyDistribution): (index: number) => string {
  if (d.kind === 'uniform') return keyGenerator(d.keys);
  const { keys, hot } = d;
  return (i) => (i < keys ? `k${i}` : `k${fmix32(i) % hot}`);
}

export interface ChildEngineOptions {
  readonly records: number;
  readonly keys: number;
  readonly checkpointMs: number | null;
  readonly root: string;
  readonly expect: LoopResult;
  readonly backend: BuiltStateBackendType;
  readonly incremental: boolean;
  readonly distribution: KeyDistribution;
  readonly markAt: number;
  /** Records of the warm-up run before the measured one (0: none). */
  readonly warmupRecords: number;
}

/** The parts of EngineRun the benches read, as plain data. */
export type ChildEngineRun = Pick<EngineRun, 'seconds' | 'checkpoints' | 'completed' | 'unread' | 'afterMarkSeconds' | 'afterMarkThreadNs' | 'runQueueNs'> & {
  readonly sinkGaps: Pick<EngineRun['sinkGaps'], 'maxGapMs' | 'long'>;
};

export async function runEngineInChild(options: ChildEngineOptions): Promise<ChildEngineRun> {
  const child = fork(CHILD, [JSON.stringify(options)], { execArgv: ['--import', REGISTER_LOADERS], stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
  let result: ChildEngineRun | undefined;
  let failure: string | undefined;
  child.on('message', (m: { ok: true; run: ChildEngineRun } | { ok: false; error: string }) => {
    if (m.ok) result = m.run;
    else failure = m.error;
  });
  const [code, signal] = (await once(child, 'exit')) as [number | null, NodeJS.Signals | null];
  if (failure !== undefined) throw new Error(`engine run in a child process failed: ${failure}`);
  if (result === undefined) throw new Error(`engine run in a child process exited (code ${code}, signal ${signal}) without its figures`);
  return result;
}
