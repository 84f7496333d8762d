/**
 * `npm run bench -- bundle`: what `flink run` adds by bundling the job file for the cluster
 * (job-bundle.ts: resolve the job's local imports, leave the engine outside, inline source map),
 * beside esbuild compiling the job file alone in the same run (what tsx does to load it: the
 * baseline). Prints figures, asserts nothing. BUNDLE_REPS (default 10) rounds after a warm-up.
 */
import { readFile } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import { bundleJob } from '../src/engine/cluster/job-bundle.ts';
import { bold, bytes, interleave, num, range, ratios, table } from './stats.ts';

const REPS = Number(process.env.BUNDLE_REPS ?? 10);
const JOBS = ['examples/order-totals.ts', 'examples/transaction-limits.ts', 'examples/user-sessions.ts'];

export async function run(): Promise<void> {
  const { transform } = await import('esbuild');
  console.log(bold('job bundles: bundling a job file for the cluster, beside compiling it alone'));
  console.log(`${REPS} rounds after a warm-up; ms median (min-max)`);
  const rows: string[][] = [['job', 'compile alone (baseline)', 'bundle', 'bundle / compile', 'bundle size']];
  for (const job of JOBS) {
    const file = fileURLToPath(new URL(`../${job}`, import.meta.url));
    const source = await readFile(file, 'utf8');
    let size = 0;
    const samples = await interleave(
      {
        compile: async () => {
          const start = performance.now();
          await transform(source, { loader: 'ts', format: 'esm', sourcefile: file });
          return (performance.now() - start) / 1000;
        },
        bundle: async () => {
          const start = performance.now();
          size = (await bundleJob(file)).length;
          return (performance.now() - start) / 1000;
        },
      },
      { reps: REPS },
    );
    const ms = (xs: readonly number[]): string => {
      const r = range(xs.map((x) => x * 1000));
      return `${num(r.median)} (${num(r.min)}-${num(r.max)})`;
    };
    const ratio = range(ratios(samples.bundle, samples.compile));
    rows.push([job, ms(samples.compile), ms(samples.bundle), `${num(ratio.median)} (${num(ratio.min)}-${num(ratio.max)})`, bytes(size)]);
  }
  console.log(table(rows));
}
