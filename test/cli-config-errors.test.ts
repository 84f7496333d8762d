/**
 * A configuration error is a bad argument of the command that loads it: the file tools exit 2,
 * since their 1 is a finding (different, corrupt, not found), and the cluster commands exit 1, as
 * Flink's CliFrontend. In process through `main()`, and `flink run` once through the real binary;
 * nothing here reaches a cluster.
 */
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { main } from '../src/cli.ts';
import { ROOT, runFlink } from './support/run-flink.ts';
import { writeSnapshot } from '../src/format/write-snapshot.ts';
import type { CliContext } from '../src/output/context.ts';
import { LocalObjectStore } from '../src/storage/local-store.ts';
import { smallSnapshot } from './support/small-snapshot.ts';
import { tempDir } from './support/temp-dir.ts';

let dir: Awaited<ReturnType<typeof tempDir>>;
let snapshot: string;
let badConfDir: string;

beforeAll(async () => {
  dir = await tempDir();
  snapshot = join(dir.path, 'sp');
  await writeSnapshot(new LocalObjectStore(snapshot), smallSnapshot());
  badConfDir = join(dir.path, 'bad-conf');
  await mkdir(badConfDir);
  await writeFile(join(badConfDir, 'config.yaml'), 'execution.checkpointing.mode: bad\n');
});
afterAll(async () => {
  await dir.remove();
});

async function run(args: string[], env: Record<string, string> = {}): Promise<{ code: number; out: string; err: string }> {
  let out = '';
  let err = '';
  const ctx: CliContext = {
    stdout: { write: (t) => void (out += t), isTTY: false },
    stderr: { write: (t) => void (err += t), isTTY: false },
    env,
    cwd: dir.path,
  };
  const code = await main(args, ctx);
  return { code, out, err };
}

const MODE = "execution.checkpointing.mode: 'bad' is not one of EXACTLY_ONCE, AT_LEAST_ONCE\n";
const PORT = "rest.port: 'abc' is not a whole number (allowed: from 0 to 65535)\n";

describe('a bad configuration', () => {
  const fileTools = (): [string, string[]][] => [
    ['inspect', ['inspect', snapshot]],
    ['inspect --key', ['inspect', snapshot, '--key', '"a"']],
    ['diff', ['diff', snapshot, snapshot]],
    ['verify', ['verify', snapshot]],
    ['gc', ['gc', '--dry-run', dir.path]],
    ['rekey', ['rekey', snapshot, join(dir.path, 'rekeyed'), '--max-parallelism', '16']],
  ];

  it('fails each file tool with 2, its bad-argument code, not its finding 1', async () => {
    for (const [name, args] of fileTools()) {
      for (const [extra, env, message] of [
        [['-D', 'execution.checkpointing.mode=bad'], {}, MODE],
        [['-D', 'rest.port=abc'], {}, PORT],
        [[], { FLINK_CONF_DIR: badConfDir }, MODE],
      ] as const) {
        const result = await run([...args, ...extra], env);
        expect({ name, ...result }).toEqual({ name, code: 2, out: '', err: message });
      }
    }
  });

  it('fails a cluster command with 1, as Flink', async () => {
    expect(await run(['list', '-D', 'execution.checkpointing.mode=bad'])).toEqual({ code: 1, out: '', err: MODE });
    expect(await run(['savepoint', '-D', 'rest.port=abc', 'abcdefabcdefabcdefabcdefabcdef01'])).toEqual({ code: 1, out: '', err: PORT });
    expect(await run(['cancel', 'abcdefabcdefabcdefabcdefabcdef01'], { FLINK_CONF_DIR: badConfDir })).toEqual({ code: 1, out: '', err: MODE });
  });
});

describe('an unknown key of a family tsflink implements', () => {
  const CACHE = "state.backend.rocksdb.block.cache-size: tsflink does not implement this key; the memory of the rocksdb and lmdb backends is set with state.backend.embedded.cache-size (each subtask's write-back cache in front of its store; RocksDB's own is left at its defaults)\n";

  it('fails flink run with 1 and one line, through the real binary, before anything runs', async () => {
    const result = await runFlink(['run', '-D', 'state.backend.rocksdb.block.cache-size=256mb', join(ROOT, 'examples', 'per-user-count.ts')], { cwd: dir.path });
    expect(result).toEqual({ code: 1, stdout: '', stderr: CACHE });
  });

  it('fails a file tool with 2, and from config.yaml too', async () => {
    expect(await run(['inspect', snapshot, '-D', 'state.backend.rocksdb.block.cache-size=256mb'])).toEqual({ code: 2, out: '', err: CACHE });
    const confDir = join(dir.path, 'file-merging-conf');
    await mkdir(confDir);
    await writeFile(join(confDir, 'config.yaml'), 'execution:\n  checkpointing:\n    file-merging:\n      enabled: true\n');
    expect(await run(['list'], { FLINK_CONF_DIR: confDir })).toEqual({
      code: 1,
      out: '',
      err: 'execution.checkpointing.file-merging.enabled: tsflink does not implement this key; file merging is not supported: each subtask writes its own files for each checkpoint\n',
    });
  });
});
