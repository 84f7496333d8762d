/** Runs examples/per-user-count.ts at parallelism 2 with checkpoints, takes a savepoint, restores it at 3. */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { StreamExecutionEnvironment } from '../src/index.ts';
import job from './per-user-count.ts';

const dir = mkdtempSync(join(tmpdir(), 'tsflink-example-'));
try {
  const env = StreamExecutionEnvironment.getExecutionEnvironment().setParallelism(2).configureCheckpointing({ interval: 1000, dir: join(dir, 'checkpoints') });
  job(env, ['20']);
  const result = await env.execute('per-user counts');
  console.error(`finished: ${result.status}, ${result.checkpoints} checkpoint(s)`);
} finally {
  rmSync(dir, { recursive: true, force: true });
}
