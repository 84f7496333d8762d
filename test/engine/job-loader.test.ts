import { execFile } from 'node:child_process';
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { UserError } from '../../src/errors.ts';
import { StreamExecutionEnvironment } from '../../src/index.ts';
import { loadJob } from '../../src/engine/job-loader.ts';
import { ROOT } from '../support/run-flink.ts';
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

/**
 * loadJob in a process of its own under the loaders every tsflink process registers (tsx), where
 * Node decides a file's module mode; vitest's own loader would treat every file as an ES module.
 * Resolves to the error's message, or 'loaded'.
 */
function loadInNode(path: string): Promise<string> {
  const loader = pathToFileURL(join(ROOT, 'src', 'engine', 'job-loader.ts')).href;
  const script = `const { loadJob } = await import(${JSON.stringify(loader)});\ntry { await loadJob(process.argv[1]); console.log('loaded'); } catch (e) { console.log(e.message); }`;
  const register = pathToFileURL(join(ROOT, 'bin', 'register-loaders.js')).href;
  return new Promise((resolve, reject) => {
    execFile(process.execPath, ['--import', register, '--input-type=module', '-e', script, path], (error, stdout, stderr) => {
      if (error !== null) reject(new Error(`${error.message}\n${stderr}`));
      else resolve(stdout.trim());
    });
  });
}

describe('loadJob of a file Node loads as CommonJS', () => {
  let cjs: string;
  beforeAll(async () => {
    // Its own package.json without "type": "module", whatever lies above the temp directory.
    cjs = join(dir.path, 'cjs');
    await mkdir(join(cjs, 'esm'), { recursive: true });
    await writeFile(join(cjs, 'package.json'), '{}');
    await writeFile(join(cjs, 'esm', 'package.json'), JSON.stringify({ type: 'module' }));
  });

  it.each([
    ['export default', 'default.ts', 'export default () => {};\n', 'default.mts'],
    ['export const', 'named.ts', 'export const x = 1;\n', 'named.mts'],
    ['import', 'imports.ts', "import { readFileSync } from 'node:fs';\nmodule.exports = readFileSync;\n", 'imports.mts'],
    ['export in JavaScript', 'plain.js', 'export default () => {};\n', 'plain.mjs'],
  ])('%s: names ES module syntax in a CommonJS file as the cause', async (_name, name, source, renamed) => {
    const path = join(cjs, name);
    await writeFile(path, source);
    expect(await loadInNode(path)).toBe(`Job file ${path} uses ES module syntax (import or export), but Node loads it as CommonJS: name it ${renamed}, or add "type": "module" to the package.json nearest to it.`);
  });

  it('a .cjs file with export: only its name makes it an ES module', async () => {
    const path = join(cjs, 'job.cjs');
    await writeFile(path, 'export default () => {};\n');
    expect(await loadInNode(path)).toBe(`Job file ${path} uses ES module syntax (import or export), but Node always loads a .cjs file as CommonJS: name it job.mjs.`);
  });

  it.each([
    ['a .cjs file', 'requires.cjs', 'Node always loads a .cjs file as CommonJS: name it requires.mjs.'],
    ['a .js file outside a "type": "module" package', 'requires.js', 'Node loads it as CommonJS: name it requires.mjs, or add "type": "module" to the package.json nearest to it.'],
    ['a .ts file outside a "type": "module" package', 'requires-ts.ts', 'Node loads it as CommonJS: name it requires-ts.mts, or add "type": "module" to the package.json nearest to it.'],
  ])("%s calling require('tsflink') is told tsflink can only be imported, and how to make it an ES module", async (_name, name, advice) => {
    const path = join(cjs, name);
    await writeFile(path, "const { DataGeneratorSource } = require('tsflink');\nmodule.exports = () => {};\n");
    expect(await loadInNode(path)).toBe(`Job file ${path} calls require('tsflink'), but tsflink can only be imported: use import ... from 'tsflink' in an ES module; ${advice}`);
  });

  it("a CommonJS module the job requires that calls require('tsflink/...') is named as the one to change", async () => {
    const helper = join(cjs, 'helper.cjs');
    await writeFile(helper, "require('tsflink/api');\n");
    const path = await job(join('cjs', 'uses-helper.cjs'), "require('./helper.cjs');\nmodule.exports = () => {};\n");
    expect(await loadInNode(path)).toBe(`Job file ${path} could not be loaded: ${helper} calls require('tsflink/api'), but tsflink can only be imported: use import ... from 'tsflink/api' in an ES module; Node always loads a .cjs file as CommonJS: name it helper.mjs.`);
  });

  it('a CommonJS file that throws at its top level gets the ordinary load error', async () => {
    const path = await job(join('cjs', 'throws-cjs.ts'), 'const a = 1;\nthrow new Error("no config");\n');
    expect(await loadInNode(path)).toMatch(new RegExp(`^Job file ${path.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')} could not be loaded: no config \\(.*throws-cjs\\.ts:2`));
  });

  it('a CommonJS file requiring an ES module caught in a cycle gets the ordinary load error, naming that module', async () => {
    await writeFile(join(cjs, 'esm', 'lib.ts'), "import './back.cjs';\nexport const lib = 1;\n");
    await writeFile(join(cjs, 'esm', 'back.cjs'), "require('./lib.ts');\n");
    const path = await job(join('cjs', 'requires.ts'), "require('./esm/lib.ts');\nmodule.exports = () => {};\n");
    expect(await loadInNode(path)).toBe(`Job file ${path} could not be loaded: Cannot require() ES Module ${join(cjs, 'esm', 'lib.ts')} in a cycle. (from ${path})`);
  });
});
