/**
 * A real PostgreSQL server for tests: a fresh cluster (initdb) in a temporary directory, started
 * with pg_ctl on 127.0.0.1 and a free port, trusted user `tsflink`, and prepared transactions
 * enabled (the exactly-once sink needs them). Durability is switched off: the tests exercise the
 * protocol, not the disk.
 *
 * initdb refuses to run as root, and tests here often do: as root, the binaries run as the
 * `postgres` user (runuser) in a directory chowned to it. Nothing is ever skipped: a machine
 * without PostgreSQL fails with a message saying what to install.
 */
import { execFile } from 'node:child_process';
import { access, chown, mkdir, mkdtemp, readFile, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { freePort } from './test-cluster.ts';

export interface PostgresTestServer {
  /** e.g. `postgresql://tsflink@127.0.0.1:40123/postgres`. */
  readonly connectionString: string;
  readonly port: number;
  stop(): Promise<void>;
}

const INSTALL_HINT = 'install PostgreSQL (apt-get install postgresql) or put its bin directory (initdb, pg_ctl) on PATH';

interface Run {
  /** The command line, for messages. */
  readonly command: string;
  readonly code: number;
  readonly stdout: string;
  readonly stderr: string;
}

function run(command: string, args: readonly string[], cwd: string): Promise<Run> {
  return new Promise((resolve) => {
    execFile(command, args, { cwd, timeout: 60_000, maxBuffer: 4 * 1024 * 1024 }, (err, stdout, stderr) => {
      const code = err === null ? 0 : typeof err.code === 'number' ? err.code : -1;
      resolve({ command: [command, ...args].join(' '), code, stdout, stderr: err !== null && typeof err.code !== 'number' ? `${stderr}\n${err.message}` : stderr });
    });
  });
}

const tail = (text: string, lines = 15): string => text.trim().split('\n').slice(-lines).join('\n');

/** The directory holding initdb and pg_ctl, or undefined to use PATH. */
async function findBinDir(): Promise<string | undefined> {
  const exists = (path: string): Promise<boolean> => access(path).then(() => true, () => false);
  const fromConfig = await run('pg_config', ['--bindir'], tmpdir());
  const configured = fromConfig.stdout.trim();
  if (fromConfig.code === 0 && configured !== '' && (await exists(join(configured, 'initdb')))) return configured;
  // Debian keeps the server binaries out of PATH, one directory per major version: take the newest.
  const versions = await readdir('/usr/lib/postgresql').catch(() => [] as string[]);
  for (const v of versions.sort((a, b) => Number(b) - Number(a))) {
    const dir = join('/usr/lib/postgresql', v, 'bin');
    if (await exists(join(dir, 'initdb'))) return dir;
  }
  return undefined;
}

async function idOf(flag: '-u' | '-g', user: string): Promise<number> {
  const r = await run('id', [flag, user], tmpdir());
  const id = Number(r.stdout.trim());
  if (r.code !== 0 || !Number.isInteger(id)) {
    throw new Error(`test PostgreSQL: running as root needs a 'postgres' user to run initdb as, but \`id ${flag} ${user}\` failed (exit ${r.code}): ${tail(r.stderr)}; ${INSTALL_HINT}`);
  }
  return id;
}

export async function startPostgres(): Promise<PostgresTestServer> {
  const binDir = await findBinDir();
  const bin = (name: string): string => (binDir === undefined ? name : join(binDir, name));
  const root = await mkdtemp(join(tmpdir(), 'tsflink-pg-'));
  const data = join(root, 'data');
  const socketDir = join(root, 'socket');
  const log = join(root, 'server.log');
  await mkdir(socketDir);
  const asRoot = process.getuid?.() === 0;
  if (asRoot) {
    const [uid, gid] = [await idOf('-u', 'postgres'), await idOf('-g', 'postgres')];
    await chown(root, uid, gid);
    await chown(socketDir, uid, gid);
  }
  // As root, every server binary runs as `postgres`; cwd is the temp dir, which that user can enter.
  const exec = (name: string, args: readonly string[]): Promise<Run> => (asRoot ? run('runuser', ['-u', 'postgres', '--', bin(name), ...args], root) : run(bin(name), args, root));
  const failure = async (r: Run): Promise<Error> => {
    const serverLog = await readFile(log, 'utf8').catch(() => '');
    return new Error(
      `test PostgreSQL: \`${r.command}\` failed with exit code ${r.code}` +
        `${r.stderr.trim() === '' ? '' : `\nstderr:\n${tail(r.stderr)}`}${serverLog.trim() === '' ? '' : `\nserver log:\n${tail(serverLog)}`}` +
        `\nTo fix: ${INSTALL_HINT}.`,
    );
  };
  const cleanUp = (): Promise<void> => rm(root, { recursive: true, force: true });

  try {
    const init = await exec('initdb', ['-D', data, '-U', 'tsflink', '--auth=trust', '-E', 'UTF8', '--no-sync']);
    if (init.code !== 0) throw await failure(init);
    let port = 0;
    for (let tries = 1; ; tries++) {
      port = await freePort();
      const options = [
        `-p ${port}`,
        `-k ${socketDir}`,
        '-c listen_addresses=127.0.0.1',
        '-c max_prepared_transactions=64',
        '-c fsync=off',
        '-c synchronous_commit=off',
        '-c full_page_writes=off',
      ].join(' ');
      const started = await exec('pg_ctl', ['-w', '-t', '60', '-D', data, '-l', log, '-o', options, 'start']);
      if (started.code === 0) break;
      // Another process may have taken the port between our probe and the server's bind.
      const serverLog = await readFile(log, 'utf8').catch(() => '');
      if (tries < 3 && /could not bind|already in use/i.test(serverLog)) continue;
      throw await failure(started);
    }
    let stopped = false;
    return {
      connectionString: `postgresql://tsflink@127.0.0.1:${port}/postgres`,
      port,
      async stop() {
        if (stopped) return;
        stopped = true;
        try {
          const fast = await exec('pg_ctl', ['-w', '-t', '30', '-D', data, '-m', 'fast', 'stop']);
          if (fast.code !== 0) {
            const immediate = await exec('pg_ctl', ['-w', '-t', '30', '-D', data, '-m', 'immediate', 'stop']);
            if (immediate.code !== 0) throw await failure(immediate);
          }
        } finally {
          await cleanUp();
        }
      },
    };
  } catch (err) {
    // A half-started server is stopped before its directory goes.
    await exec('pg_ctl', ['-w', '-D', data, '-m', 'immediate', 'stop']).catch(() => undefined);
    await cleanUp();
    if (err instanceof Error && err.message.startsWith('test PostgreSQL')) throw err;
    throw new Error(`test PostgreSQL: could not start a server (${err instanceof Error ? err.message : String(err)}); ${INSTALL_HINT}`, { cause: err });
  }
}
