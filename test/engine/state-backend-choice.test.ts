/**
 * Choosing a job's keyed state backend: `state.backend.type` and `env.setStateBackend`, code
 * winning over configuration as in Flink, and the choice reaching the factory that makes every
 * subtask's backend: hashmap, rocksdb and lmdb.
 */
import { readdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { StreamExecutionEnvironment } from '../../src/index.ts';
import { UserError } from '../../src/errors.ts';
import { jobSettingsFromConfig } from '../../src/engine/cluster/job-settings.ts';
import { prepareJob } from '../../src/engine/cluster/prepare-job.ts';
import { executeLocally } from '../../src/engine/runtime/local-executor.ts';
import { tempDir } from '../support/temp-dir.ts';

// Records which type every subtask's backend was made for; still makes the real backend.
const made = vi.hoisted(() => [] as string[]);
const localDirs = vi.hoisted(() => [] as (string | undefined)[]);
vi.mock('../../src/engine/state/create-keyed-state-backend.ts', async (importOriginal) => {
  const original = await importOriginal<typeof import('../../src/engine/state/create-keyed-state-backend.ts')>();
  return {
    ...original,
    createKeyedStateBackend: (type: Parameters<typeof original.createKeyedStateBackend>[0], options: Parameters<typeof original.createKeyedStateBackend>[1]) => {
      made.push(type);
      localDirs.push(options.localDir);
      return original.createKeyedStateBackend(type, options);
    },
  };
});

function thrown(fn: () => unknown): UserError {
  try {
    fn();
  } catch (err) {
    if (err instanceof UserError) return err;
    throw err;
  }
  throw new Error('did not throw');
}

let dir: Awaited<ReturnType<typeof tempDir>>;
beforeAll(async () => {
  dir = await tempDir('tsflink-backend-choice-');
});
afterAll(async () => {
  await dir.remove();
});

describe('env.setStateBackend', () => {
  it('takes hashmap (in any case, as Flink matches the type) and is the default', () => {
    expect(StreamExecutionEnvironment.getExecutionEnvironment().getStateBackend()).toBe('hashmap');
    const env = StreamExecutionEnvironment.getExecutionEnvironment().setStateBackend('hashmap');
    expect(env.executionOptions('j').stateBackend).toBe('hashmap');
    // A plain-JS job file may spell it as Flink's docs do.
    expect(StreamExecutionEnvironment.getExecutionEnvironment().setStateBackend('HashMap' as 'hashmap').getStateBackend()).toBe('hashmap');
  });

  it.each(['rocksdb', 'lmdb'] as const)('takes the on-disk %s, in any case', (type) => {
    expect(StreamExecutionEnvironment.getExecutionEnvironment().setStateBackend(type).executionOptions('j').stateBackend).toBe(type);
    expect(StreamExecutionEnvironment.getExecutionEnvironment().setStateBackend(type.toUpperCase() as typeof type).getStateBackend()).toBe(type);
  });

  it('refuses an unknown type naming the known ones', () => {
    const err = thrown(() => StreamExecutionEnvironment.getExecutionEnvironment().setStateBackend('forst' as 'hashmap'));
    expect(err.message).toBe("setStateBackend: 'forst' is not one of hashmap, rocksdb, lmdb");
    expect(err.exitCode).toBe(1);
  });
});

describe('the chosen backend reaches the subtasks', () => {
  it('in-process: every keyed subtask is made by the factory for the job\'s type', async () => {
    made.length = 0;
    const env = StreamExecutionEnvironment.getExecutionEnvironment().setParallelism(2).setStateBackend('hashmap');
    const seen: number[] = [];
    env
      .fromElements(1, 2, 3, 4)
      .keyBy((n) => n % 2)
      .reduce((a, b) => a + b)
      .sinkTo({ invoke: (v: number) => void seen.push(v) });
    await env.execute('choice');
    expect(seen.sort((a, b) => a - b)).toEqual([1, 2, 4, 6]);
    expect(made).toEqual(['hashmap', 'hashmap']);
  });

  it.each(['rocksdb', 'lmdb'] as const)('in-process on %s: the same result', async (type) => {
    made.length = 0;
    const env = StreamExecutionEnvironment.getExecutionEnvironment().setParallelism(2).setStateBackend(type);
    const seen: number[] = [];
    env
      .fromElements(1, 2, 3, 4)
      .keyBy((n) => n % 2)
      .reduce((a, b) => a + b)
      .sinkTo({ invoke: (v: number) => void seen.push(v) });
    await env.execute('choice');
    expect(seen.sort((a, b) => a - b)).toEqual([1, 2, 4, 6]);
    expect(made).toEqual([type, type]);
  });

  it('through prepareJob (what flink run and the cluster worker do): the configuration, unless the job sets its own', async () => {
    const plain = join(dir.path, 'plain.ts');
    const own = join(dir.path, 'own.ts');
    const body = `env.fromElements(1, 2).keyBy((n: number) => n).reduce((a: number, b: number) => a + b).sinkTo({ invoke() {} });`;
    await writeFile(plain, `export default (env: any): void => { ${body} };\n`);
    await writeFile(own, `export default (env: any): void => { env.setStateBackend('lmdb'); ${body} };\n`);
    const settings = jobSettingsFromConfig(new Map([['state.backend.type', 'HashMap']]), 1);
    expect(settings.stateBackend).toBe('hashmap');
    expect((await prepareJob(plain, [], settings)).options.stateBackend).toBe('hashmap');
    expect((await prepareJob(own, [], settings)).options.stateBackend).toBe('lmdb');

    // The configuration's local directory reaches each subtask's backend, which works in it and
    // removes its working directory when the subtask ends.
    const local = join(dir.path, 'lmdb-local');
    const withDir = jobSettingsFromConfig(new Map([['state.backend.type', 'lmdb'], ['state.backend.lmdb.localdir', local]]), 2);
    const prepared = await prepareJob(plain, [], withDir);
    made.length = 0;
    localDirs.length = 0;
    await executeLocally(prepared.graph, prepared.options);
    expect(made).toEqual(['lmdb', 'lmdb']);
    expect(localDirs).toEqual([local, local]);
    expect(await readdir(local)).toEqual([]);
    expect(jobSettingsFromConfig(new Map([['state.backend.type', 'RocksDB']]), 1).stateBackend).toBe('rocksdb');
  });
});
