/**
 * `flink rekey <snapshot> <target> --max-parallelism M`: writes the snapshot's state as a new
 * canonical savepoint with max parallelism M (exit 0), or refuses in one line (exit 2).
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { CommandEnv, CommonOptions } from '../cli.ts';
import { storeOptions } from '../config.ts';
import { ExitCode, UserError } from '../errors.ts';
import { existingTargetMessage, rekeyProblem, rekeySnapshot } from '../format/rekey-snapshot.ts';
import { openSnapshot } from '../open-snapshot.ts';
import { Progress, progressEnabled } from '../output/progress.ts';
import { formatBytes } from '../output/bytes.ts';
import { LocalObjectStore } from '../storage/local-store.ts';
import { nonEmptyPath } from '../engine/cluster/locations.ts';
import { openStore } from '../storage/open-store.ts';
import { leftoverPartials, moveIntoPlace, partialSiblingOf } from '../storage/partial-directory.ts';

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
  if (localTarget !== undefined && (await exists(localTarget))) throw new UserError(await refusal(target, localTarget));
  // A local target is written in a hidden sibling and renamed into place once verified, so a
  // rekey killed midway leaves nothing under the target (S3 has no rename: there `_metadata`,
  // published last, is what makes the target a savepoint, and a retry's refusal says so).
  const partial = localTarget === undefined ? undefined : partialSiblingOf(localTarget);
  if (localTarget !== undefined && partial !== undefined) {
    for (const left of await leftoverPartials(localTarget)) {
      ctx.stderr.write(`note: ${left} was left by an earlier flink rekey into ${target} that was interrupted; nothing reads it: remove it (rm -r)\n`);
    }
    // One of this process id can only be a leftover too (its process is gone: this one has the id now).
    await rm(partial, { recursive: true, force: true });
  }
  const targetStore = await openStore(partial ?? target, storeOptions(config));
  const location = localTarget ?? targetStore.location;
  // Made and watched for Ctrl-C with no await between: no interrupt can leave it behind.
  const spillDir = mkdtempSync(join(tmpdir(), 'tsflink-rekey-'));
  const enabled = progressEnabled(ctx.stderr, options.json);
  const states = source.metadata.operators.flatMap((op) => [...op.keyedStates, ...op.operatorStates]);
  const total = { entries: states.reduce((n, s) => n + s.entries, 0), bytes: states.reduce((n, s) => n + s.bytes, 0) };
  const now = (): number => performance.now();
  let progress = new Progress({ out: ctx.stderr, enabled, now, label: 'rekey', total });
  // Ctrl-C: spill runs can be as large as the state, and the partial directory is of no use;
  // neither is left behind (a savepoint already moved into place is kept).
  const onInterrupt = (): void => {
    progress.done();
    rmSync(spillDir, { recursive: true, force: true });
    if (partial !== undefined) rmSync(partial, { recursive: true, force: true });
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
    if (partial !== undefined && localTarget !== undefined) {
      await moveIntoPlace(partial, localTarget, () => `${target}: came to exist while rekeying; rekey never overwrites: give a new target directory`);
    }
    progress.done();
    const meta = result.metadata;
    if (options.json === true) {
      const doc = {
        source: source.store.location,
        target: location,
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
          `Savepoint completed and verified. Path: ${location}\n`,
      );
    }
    return ExitCode.ok;
  } catch (err) {
    progress.done();
    // The writer removed its data files; the partial directory goes too.
    if (partial !== undefined) await rm(partial, { recursive: true, force: true });
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

/** Why an existing local target is refused: a directory that is an unfinished output is named as one. */
async function refusal(target: string, localTarget: string): Promise<string> {
  const isDirectory = await stat(localTarget).then((info) => info.isDirectory(), () => false);
  if (!isDirectory) return `${target}: already exists; rekey never overwrites: give a new target directory`;
  return existingTargetMessage(new LocalObjectStore(localTarget), target);
}
