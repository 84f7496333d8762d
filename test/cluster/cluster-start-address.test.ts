/**
 * `flink cluster start -m host:port` starts the JobManager on that address (its rest.address and
 * rest.port, and the default working directory that follows the port), as `-D rest.port=` would:
 * it used to start one on rest.port (8081) while it waited for an answer at -m.
 */
import { existsSync } from 'node:fs';
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runFlink } from '../support/run-flink.ts';
import { freePort } from '../support/test-cluster.ts';
import { tempDir } from '../support/temp-dir.ts';

let dir: Awaited<ReturnType<typeof tempDir>>;
beforeAll(async () => {
  dir = await tempDir('tsflink-start-address-');
});
afterAll(async () => {
  await dir.remove();
});

describe('cluster start -m', () => {
  it('starts the JobManager at the -m address, over the rest.port of config.yaml, with the working directory of that port', async () => {
    const port = await freePort();
    // -m wins over the configuration file, as Flink's -m over rest.address/rest.port.
    const filePort = await freePort();
    await mkdir(join(dir.path, 'conf'), { recursive: true });
    await writeFile(join(dir.path, 'conf', 'config.yaml'), `rest.port: ${filePort}\n`);
    const address = `127.0.0.1:${port}`;
    // The default working directory is <tmp>/tsflink-jobmanager-<port>: tmp is the test's own.
    const env = { TMPDIR: dir.path };
    const workDir = join(dir.path, `tsflink-jobmanager-${port}`);
    try {
      const started = await runFlink(['cluster', 'start', '-m', address, '-D', 'taskmanager.count=0'], { cwd: dir.path, env });
      expect(started.stderr).toBe('');
      expect(started.stdout).toMatch(new RegExp(`^Starting cluster\\.\\nStarted the JobManager \\(pid \\d+\\) at http://127\\.0\\.0\\.1:${port}; its log is ${workDir.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}/log/jobmanager\\.log\\.\\n$`));
      expect(started.code).toBe(0);
      const status = await runFlink(['cluster', 'status', '-m', address], { cwd: dir.path, env });
      expect(status.stdout).toContain(`working directory ${workDir})`);
      expect(status.code).toBe(0);
    } finally {
      const stopped = await runFlink(['cluster', 'stop', '-m', address], { cwd: dir.path, env });
      // Whatever went wrong, no JobManager stays behind on the file's port either.
      const stray = await runFlink(['cluster', 'stop', '-m', `127.0.0.1:${filePort}`], { cwd: dir.path, env });
      expect(stopped.stdout).toBe(`Stopped the JobManager at http://127.0.0.1:${port}.\n`);
      expect(stray.stdout).toBe(`No cluster is running at http://127.0.0.1:${filePort}.\n`);
    }
    expect(existsSync(join(workDir, 'jobmanager.pid'))).toBe(false);
  });

  it('refuses a -D rest.port or rest.address that says otherwise, in one line, and starts nothing', async () => {
    const port = await freePort();
    const result = await runFlink(['cluster', 'start', '-m', `127.0.0.1:${port}`, '-D', `rest.port=${port + 1}`, '-D', `process.jobmanager.working-dir=${join(dir.path, 'refused')}`], { cwd: dir.path });
    // Had one started (on either address), it must not outlive the test.
    for (const p of [port, port + 1]) await runFlink(['cluster', 'stop', '-m', `127.0.0.1:${p}`], { cwd: dir.path });
    expect(result).toEqual({ code: 1, stdout: '', stderr: `-m 127.0.0.1:${port} and -D rest.port=${port + 1} disagree on where the JobManager listens; give only one of them.\n` });
    expect(existsSync(join(dir.path, 'refused'))).toBe(false);
  });
});
