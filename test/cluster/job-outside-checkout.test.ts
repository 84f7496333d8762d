/**
 * A job file in a user's own directory, outside the checkout, with no node_modules: `flink run`
 * resolves `import ... from 'tsflink'` to this installation in the client, the JobManager and the TaskManagers, and
 * the job shares the runtime's copy of the engine. Through the real binary on a real cluster.
 */
import { execFile } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ROOT, type RunResult, runFlink } from '../support/run-flink.ts';
import { type TestCluster, startTestCluster } from '../support/test-cluster.ts';

let cluster: TestCluster;

beforeAll(async () => {
  cluster = await startTestCluster();
}, 90_000);

afterAll(async () => {
  await cluster?.stop();
}, 60_000);

/** A directory of its own for a job: `{"type": "module"}` and the job file, nothing else. */
async function jobDirectory(name: string, source: string): Promise<string> {
  const dir = join(cluster.scratch, name);
  await mkdir(dir);
  await writeFile(join(dir, 'package.json'), '{"type": "module"}\n');
  await writeFile(join(dir, 'job.ts'), source);
  return dir;
}

/** `flink run` in `cwd`, with the cluster's -D flags before the job file (after it they would be the job's arguments). */
function run(args: readonly string[], cwd: string): Promise<RunResult> {
  return runFlink(['run', ...cluster.defines, ...args], { cwd });
}



describe('a job file outside the checkout', () => {
  it("imports 'tsflink' and runs on the cluster with the runtime's own engine", async () => {
    const dir = await jobDirectory(
      'doubler',
      [
        "import { PrintSink, StreamExecutionEnvironment } from 'tsflink';",
        '',
        'export default (env: StreamExecutionEnvironment, args: string[]): void => {',
        "  if (!(env instanceof StreamExecutionEnvironment)) throw new Error('the job sees another copy of tsflink than the runtime');",
        '  env.fromElements(...args.map(Number)).map((n) => `doubled ${n * 2}`).sinkTo(new PrintSink<string>());',
        '};',
        '',
      ].join('\n'),
    );
    const mark = cluster.printMark();
    const result = await run(['job.ts', '1', '2', '3'], dir);
    expect(result.code, result.stderr).toBe(0);
    expect(result.stdout).toContain('has finished.');
    expect(await cluster.printedSince(mark, 3)).toEqual(['doubled 2', 'doubled 4', 'doubled 6']);
  }, 120_000);

  it("runs the README's example job from a directory of its own, as the checkout's copy of it runs", async () => {
    const readme = readFileSync(join(ROOT, 'README.md'), 'utf8');
    const section = readme.slice(readme.indexOf('## Writing a job'));
    const source = /```ts\n([\s\S]*?)```/.exec(section)?.[1];
    expect(source).toContain("from 'tsflink'");
    const dir = await jobDirectory('my-job', source!);

    // One after the other: both print into the TaskManager's .out file.
    const mark = cluster.printMark();
    const mine = await run(['job.ts', '20'], dir);
    expect(mine.code, mine.stderr).toBe(0);
    const lines = await cluster.printedSince(mark, 20);
    expect(lines).toHaveLength(20);
    const theirsMark = cluster.printMark();
    const theirs = await run([join(ROOT, 'examples/per-user-count.ts'), '20'], cluster.scratch);
    expect(theirs.code, theirs.stderr).toBe(0);
    expect(await cluster.printedSince(theirsMark, 20)).toEqual(lines);
  }, 120_000);
});

describe("the README's type check of a job", () => {
  it("reports a type error, with tsflink's types resolved; 'flink run' does not check types and runs the job", async () => {
    const readme = readFileSync(join(ROOT, 'README.md'), 'utf8');
    const section = readme.slice(readme.indexOf('## Writing a job'));
    const tsconfig = /```json\n([\s\S]*?)```/.exec(section)?.[1];
    expect(tsconfig).toContain('"tsflink"');
    const dir = await jobDirectory(
      'typed',
      [
        "import { PrintSink, type StreamExecutionEnvironment } from 'tsflink';",
        "const label: number = 'order';",
        'export default (env: StreamExecutionEnvironment): void => {',
        '  env.fromElements(1, 2).map((n) => `${label} ${n}`).sinkTo(new PrintSink<string>());',
        '};',
        '',
      ].join('\n'),
    );
    await writeFile(join(dir, 'tsconfig.json'), tsconfig!.replaceAll('/home/me/tsflink', ROOT));
    const result = await new Promise<{ code: number; stdout: string }>((resolve) => {
      execFile(process.execPath, [join(ROOT, 'node_modules/typescript/bin/tsc'), '-p', '.'], { cwd: dir }, (error, stdout) => {
        resolve({ code: error === null ? 0 : typeof error.code === 'number' ? error.code : 1, stdout });
      });
    });
    expect(result.stdout).toBe("job.ts(2,7): error TS2322: Type 'string' is not assignable to type 'number'.\n");
    expect(result.code).toBe(2);

    const mark = cluster.printMark();
    const ran = await run(['job.ts'], dir);
    expect(ran.code, ran.stderr).toBe(0);
    expect(await cluster.printedSince(mark, 2)).toEqual(['order 1', 'order 2']);
  }, 180_000);
});
