/**
 * `flink rekey <snapshot> <target> --max-parallelism M`: writes the snapshot's state as a new
 * canonical savepoint with max parallelism M (exit 0), or refuses in one line (exit 2).
 */
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { readdir, rm, rmdir, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { CommandEnv, CommonOptions } from '../cli.ts';
import { storeOptions } from '../config.ts';
import { ExitCode, UserError } from '../errors.ts';
import { rekeyProblem, rekeySnapshot } from '../format/rekey-snapshot.ts';
import { METADATA_FILE } from '../format/snapshot-paths.ts';
import { openSnapshot } from '../open-snapshot.ts';
import { Progress, progressEnabled } from '../output/progress.ts';
import { formatBytes } from '../output/style.ts';
import { LocalObjectStore } from '../storage/local-store.ts';
import { nonEmptyPath } from '../engine/cluster/locations.ts';
import { openStore } from '../storage/open-store.ts';

export interface RekeyOptions extends CommonOptions {
  readonly maxParallelism: number;
  /** Bytes. */
  readonly memory?: number;
}

export const DEFAULT_REKEY_MEMORY = 256 * 1024 * 1024;

export async function runRekey(snapshot: string, target: string, options: RekeyOptions, { ctx, config }: CommandEnv): Promise<number> {
  nonEmptyPath(target, 'rekeyTarget');
  const source = await openSnapshot(snapshot, storeOptions(config));
  const problem = rekeyProblem(source.metadata, options.maxParallelism);
  if (problem !== undefined) throw new UserError(problem);
  const localTarget = localPathOf(target, ctx.cwd ?? process.cwd());
  if (localTarget !== undefined && (await exists(localTarget))) {
    throw new UserError(`${target}: already exists; rekey never overwrites: give a new target directory`);
  }
  const targetStore = await openStore(localTarget ?? target, storeOptions(config));
  // Made and watched for Ctrl-C with no await between: no interrupt can leave it behind.
  const spillDir = mkdtempSync(join(tmpdir(), 'tsflink-rekey-'));
  const enabled = progressEnabled(ctx.stderr, options.json);
  const states = source.metadata.operators.flatMap((op) => [...op.keyedStates, ...op.operatorStates]);
  const total = { entries: states.reduce((n, s) => n + s.entries, 0), bytes: states.reduce((n, s) => n + s.bytes, 0) };
  const now = (): number => performance.now();
  let progress = new Progress({ out: ctx.stderr, enabled, now, label: 'rekey', total });
  // Ctrl-C: spill runs can be as large as the state, and a half-written local target would make
  // the next try refuse it as existing; neither is left behind (a published savepoint is kept).
  const onInterrupt = (): void => {
    progress.done();
    rmSync(spillDir, { recursive: true, force: true });
    if (localTarget !== undefined && !existsSync(join(localTarget, METADATA_FILE))) rmSync(localTarget, { recursive: true, force: true });
    ctx.stderr.write('Interrupted; nothing was written.\n');
    process.exit(130);
  };
  process.once('SIGINT', onInterrupt);
  try {
    const result = await rekeySnapshot(source, targetStore, {
      maxParallelism: options.maxParallelism,
      memoryBytes: options.memory ?? DEFAULT_REKEY_MEMORY,
      spill: new LocalObjectStore(spillDir),
      onProgress: (entries, bytes) => progress.update(entries, bytes),
      onVerify: () => {
        progress.done();
        progress = new Progress({ out: ctx.stderr, enabled, now, label: 'verify', total: { entries: total.entries } });
      },
      onVerifyProgress: (entries, bytes) => progress.update(entries, bytes),
    });
    progress.done();
    const meta = result.metadata;
    if (options.json === true) {
      const doc = {
        source: source.store.location,
        target: targetStore.location,
        from: result.from,
        maxParallelism: options.maxParallelism,
        operators: meta.operators.length,
        keyedEntries: result.keyedEntries,
        operatorStateEntries: result.operatorStateEntries,
        bytes: meta.stats.bytes,
        spilledBytes: result.stats.spilledBytes,
        verified: result.verify.valid,
      };
      ctx.stdout.write(`${JSON.stringify(doc, null, 2)}\n`);
    } else {
      const spilled = result.stats.spilledBytes > 0 ? ` (${formatBytes(result.stats.spilledBytes)} spilled to ${tmpdir()})` : '';
      ctx.stdout.write(
        `Rekeyed ${source.store.location}: max parallelism ${result.from.join(', ')} -> ${options.maxParallelism}; ` +
          `${result.keyedEntries} keyed entries, ${result.operatorStateEntries} operator-state elements, ${meta.operators.length} operator${meta.operators.length === 1 ? '' : 's'}${spilled}.\n` +
          `Savepoint completed and verified. Path: ${targetStore.location}\n`,
      );
    }
    return ExitCode.ok;
  } catch (err) {
    progress.done();
    // The data files are gone (the writer removed them); so goes the directory rekey made.
    if (localTarget !== undefined) await removeIfEmpty(localTarget);
    throw err;
  } finally {
    process.off('SIGINT', onInterrupt);
    await rm(spillDir, { recursive: true, force: true });
  }
}

/** The local directory `location` names, or undefined for a remote one (s3://). */
function localPathOf(location: string, cwd: string): string | undefined {
  if (/^file:/i.test(location)) {
    try {
      return fileURLToPath(location);
    } catch {
      throw new UserError(`${location}: not a valid file URL (expected file:///absolute/path)`);
    }
  }
  return /^[a-z][a-z0-9+.-]+:\/\//i.test(location) ? undefined : resolve(cwd, location);
}

async function exists(path: string): Promise<boolean> {
  return stat(path).then(
    () => true,
    (err: NodeJS.ErrnoException) => err.code !== 'ENOENT',
  );
}

async function removeIfEmpty(dir: string): Promise<void> {
  const entries = await readdir(dir).catch(() => undefined);
  if (entries !== undefined && entries.length === 0) await rmdir(dir).catch(() => undefined);
}
