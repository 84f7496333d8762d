/**
 * A job's code as `flink run` submits it: bundled with its local imports, with tsflink, this
 * installation's sources and packages and Node's modules left outside, and loaded, as a worker or
 * TaskManager loads it, from a directory far from the user's files. Loading runs in a child
 * process with the loaders every tsflink process registers (bin/register-loaders.js).
 */
import { execFile } from 'node:child_process';
import { mkdir, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ROOT } from '../../../test/support/run-flink.ts';
import { tempDir } from '../../../test/support/temp-dir.ts';
import { BUNDLE_SUFFIX, ENGINE_SCHEME, bundleJob, bundleKey } from './job-bundle.ts';

const run = promisify(execFile);
let dir: Awaited<ReturnType<typeof tempDir>>;

beforeAll(async () => {
  dir = await tempDir('tsflink-bundle-');
});
afterAll(async () => {
  await dir.remove();
});

/** Stores the bundle as a blob store does, loads it in a fresh process and builds the job; prints what it saw. */
async function loadElsewhere(code: string, args: readonly string[] = []): Promise<{ stdout: string; stderr: string }> {
  const blobs = join(dir.path, 'blobs');
  await mkdir(blobs, { recursive: true });
  const bundle = join(blobs, `${bundleKey(code)}${BUNDLE_SUFFIX}`);
  await writeFile(bundle, code);
  const probe = join(dir.path, 'probe.mts');
  await writeFile(
    probe,
    [
      `import { loadJob } from ${JSON.stringify(join(ROOT, 'src/engine/job-loader.ts'))};`,
      `import { StreamExecutionEnvironment } from ${JSON.stringify(join(ROOT, 'src/index.ts'))};`,
      'const env = new StreamExecutionEnvironment();',
      'try {',
      `  await (await loadJob('/the/users/job.ts', ${JSON.stringify(bundle)}))(env, ${JSON.stringify(args)});`,
      "  console.log(env.graph.nodes.map((n) => n.uid ?? n.name).join(','));",
      '} catch (err) {',
      "  console.log('threw', err.message, '|', (err.cause?.stack ?? err.stack).split('\\n').slice(0, 3).join(' | '));",
      '}',
    ].join('\n'),
  );
  return run(process.execPath, ['--import', join(ROOT, 'bin', 'register-loaders.js'), probe], { cwd: dir.path });
}

async function jobDirectory(name: string, files: Record<string, string>): Promise<string> {
  const d = join(dir.path, name);
  for (const [file, text] of Object.entries({ 'package.json': '{"type": "module"}\n', ...files })) {
    await mkdir(join(d, file, '..'), { recursive: true });
    await writeFile(join(d, file), text);
  }
  return d;
}

describe('job bundles', () => {
  it("carries the job's local imports and leaves tsflink to the runtime, which the job then shares", async () => {
    const d = await jobDirectory('outside', {
      'job.ts': [
        "import { readFileSync } from 'node:fs';",
        "import { StreamExecutionEnvironment, PrintSink } from 'tsflink';",
        "import { triple } from './lib/triple.ts';",
        'export default (env: StreamExecutionEnvironment, args: string[]) => {',
        "  if (!(env instanceof StreamExecutionEnvironment)) throw new Error('another copy of tsflink');",
        "  env.fromElements(...args.map(Number)).map(triple).uid(`triple-${typeof readFileSync}`).sinkTo(new PrintSink<number>()).uid('print');",
        '};',
      ].join('\n'),
      'lib/triple.ts': 'export const triple = (n: number): number => n * 3;\n',
    });
    const code = await bundleJob(join(d, 'job.ts'));
    expect(code).toContain('n * 3');
    expect(code).toMatch(/from "tsflink"/);
    await rm(d, { recursive: true });
    expect((await loadElsewhere(code, ['1', '2'])).stdout.trim()).toBe('Elements,triple-function,print');
  });

  it('names this installation’s sources by the engine scheme instead of copying the engine into the job', async () => {
    const code = await bundleJob(join(ROOT, 'examples', 'order-totals.ts'));
    expect(code).toContain(`from "${ENGINE_SCHEME}src/index.ts"`);
    expect(code).not.toContain('class StreamExecutionEnvironment');
    const out = join(dir.path, 'totals');
    expect((await loadElsewhere(code, ['--output', out, '--records', '10'])).stdout.trim()).toBe('orders,timestamps,valid-orders,dedup,user-totals,totals-sink');
  });

  it("keeps the user's files and lines in stack traces", async () => {
    const d = await jobDirectory('throws', {
      'job.ts': "import { check } from './check.ts';\nexport default (_env: unknown, args: string[]) => {\n  check(args);\n};\n",
      'check.ts': "export function check(args: string[]): void {\n  // the line below throws\n  if (args.length === 0) throw new Error('no arguments');\n}\n",
    });
    const code = await bundleJob(join(d, 'job.ts'));
    const { stdout } = await loadElsewhere(code);
    expect(stdout).toContain('threw no arguments');
    expect(stdout).toContain(`${join(d, 'check.ts')}:3:`);
  });

  it('refuses a job whose imports cannot be bundled in one line naming the file and where', async () => {
    const d = await jobDirectory('broken', { 'job.ts': "import { nothing } from './missing.ts';\nexport default () => nothing;\n" });
    await expect(bundleJob(join(d, 'job.ts'))).rejects.toThrow(new RegExp(`^Job file ${join(d, 'job.ts')} could not be bundled for the cluster: Could not resolve "./missing.ts" \\(${join(d, 'job.ts')}:1:25\\)$`));
  });

  it('loads no file outside this installation’s sources through the engine scheme', async () => {
    const { stdout } = await loadElsewhere(`import "${ENGINE_SCHEME}src/../package.json";\nexport default () => {};\n`);
    expect(stdout).toContain(`threw Job file /the/users/job.ts could not be loaded: a job bundle imports '${ENGINE_SCHEME}src/../package.json', which is not a source file of this installation`);
  });
});
