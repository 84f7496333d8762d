/**
 * `npm run demo`: the upgrade workflow through the real `flink` binary (see
 * upgrade-workflow.ts), in a fresh temporary directory with its own conf/config.yaml and a
 * cluster on a free port. It prints each command and what it printed, and leaves nothing
 * running: the cluster is stopped and the directory removed, also when a step fails.
 */
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type FlinkRun, committedLines, runUpgradeWorkflow, writeConfig } from './upgrade-workflow.ts';

const root = join(import.meta.dirname, '..');
const dir = mkdtempSync(join(tmpdir(), 'tsflink-demo-'));
const port = await freePort();
const env = { ...process.env, FLINK_CONF_DIR: join(dir, 'conf') };

function flink(args: readonly string[]): Promise<FlinkRun> {
  const shown = args.map((a) => a.replace(dir, '$DEMO').replace(`${root}/`, ''));
  process.stdout.write(`\n$ flink ${shown.join(' ')}\n`);
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [join(root, 'bin/flink.js'), ...args], { cwd: dir, env, stdio: ['ignore', 'pipe', 'inherit'] });
    let stdout = '';
    child.stdout.on('data', (d: Buffer) => {
      stdout += d.toString();
      process.stdout.write(d.toString().replaceAll(dir, '$DEMO'));
    });
    child.on('close', (code) => resolve({ code: code ?? 1, stdout }));
  });
}

function freePort(): Promise<number> {
  return new Promise((resolve) => {
    const server = createServer().listen(0, '127.0.0.1', () => {
      const address = server.address();
      server.close(() => resolve(typeof address === 'object' && address !== null ? address.port : 0));
    });
  });
}

process.stdout.write(`tsflink demo in $DEMO=${dir}\nconf/config.yaml sets the REST port (${port}), the cluster's working directory, checkpoints every 1 s and the savepoint directory.\n`);
writeConfig(dir, port);
let failed = false;
try {
  const result = await runUpgradeWorkflow({ dir, port, records: 120_000, rate: 15_000, seed: 42, flink, say: (text) => process.stdout.write(`\n# ${text}\n`) });
  process.stdout.write(`\n# The job's exactly-once output so far: ${committedLines(result.output).length} committed lines (user,windowStart,windowEnd,orders,totalCents).\n`);
  process.stdout.write('# Resume with: flink run -s <the stop savepoint> examples/order-totals-v2.ts --output ... (the end-to-end test does, and checks every line).\n');
} catch (err) {
  failed = true;
  process.stderr.write(`\nDemo failed: ${err instanceof Error ? err.message : String(err)}\n`);
} finally {
  await flink(['cluster', 'stop']);
  rmSync(dir, { recursive: true, force: true });
}
process.exitCode = failed ? 1 : 0;
