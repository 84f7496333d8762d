import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { UserError } from '../../src/errors.ts';
import { StreamExecutionEnvironment } from '../../src/index.ts';
import { loadJob } from '../../src/engine/job-loader.ts';
import { tempDir } from '../support/temp-dir.ts';

let dir: Awaited<ReturnType<typeof tempDir>>;
beforeAll(async () => {
  dir = await tempDir();
});
afterAll(async () => {
  await dir.remove();
});

async function job(name: string, source: string): Promise<string> {
  const path = join(dir.path, name);
  await writeFile(path, source);
  return path;
}

describe('loadJob', () => {
  it('loads a TypeScript job module and runs it', async () => {
    const path = await job(
      'ok.ts',
      `import { StreamExecutionEnvironment } from '${process.cwd()}/src/index.ts';
       export default (env: StreamExecutionEnvironment, args: string[]): void => {
         const out: number[] = (globalThis as unknown as { out: number[] }).out;
         env.fromElements(...args.map(Number)).map((n: number) => n * 2).sinkTo({ invoke: (v: number) => void out.push(v) });
       };`,
    );
    const main = await loadJob(path);
    const out: number[] = [];
    (globalThis as unknown as { out: number[] }).out = out;
    const env = StreamExecutionEnvironment.getExecutionEnvironment();
    await main(env, ['1', '2', '3']);
    await env.execute('loaded');
    expect(out.sort()).toEqual([2, 4, 6]);
  });

  it('names a missing file', async () => {
    await expect(loadJob(join(dir.path, 'nope.ts'))).rejects.toThrow(new UserError(`Job file ${join(dir.path, 'nope.ts')} not found.`));
  });

  it('points at the line of a syntax error', async () => {
    const path = await job('broken.ts', 'export default (env) => {\n  const x = ;\n};\n');
    await expect(loadJob(path)).rejects.toThrow(`could not be loaded: Unexpected ";" (${path}:2:13)`);
  });

  it('names a job that throws while loading, with its line', async () => {
    const path = await job('throws.ts', 'const a = 1;\nthrow new Error("no config");\nexport default () => {};\n');
    await expect(loadJob(path)).rejects.toThrow(new RegExp(`could not be loaded: no config \\(.*throws\\.ts:2`));
  });

  it('refuses a module without a default export', async () => {
    const path = await job('nodefault.ts', 'export const job = () => {};\n');
    await expect(loadJob(path)).rejects.toThrow(/has no default export; export the job as: export default \(env, args\) => \{ \.\.\. \}/);
  });
});
