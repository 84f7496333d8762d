/**
 * Loads a user's job module: a TypeScript (or JavaScript) file whose default export builds the
 * job, `export default (env: StreamExecutionEnvironment, args: string[]) => void`. The process
 * runs under tsx, so no build step is needed, and with a hook that resolves `tsflink` in a job
 * file anywhere to this installation (both registered by bin/register-loaders.js).
 */
import { readFile, stat } from 'node:fs/promises';
import { resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { UserError } from '../errors.ts';
import type { StreamExecutionEnvironment } from './api/environment.ts';

export type JobMain = (env: StreamExecutionEnvironment, args: string[]) => void | Promise<void>;

/**
 * `path` names the job in every message; `from` is the file imported when that is another one:
 * the bundle a cluster stored when the job was submitted (job-bundle.ts).
 */
export async function loadJob(path: string, from?: string): Promise<JobMain> {
  const file = resolve(from ?? path);
  const info = await stat(file).catch(() => undefined);
  if (info === undefined) throw new UserError(`Job file ${path} not found.`);
  if (!info.isFile()) throw new UserError(`Job file ${path} is not a file.`);
  let module: { default?: unknown };
  try {
    module = (await import(pathToFileURL(file).href)) as { default?: unknown };
  } catch (err) {
    const syntax = await syntaxError(file);
    if (syntax === undefined && /require\(\) ES Module|require\(esm\)|ERR_REQUIRE_(CYCLE_)?ESM/i.test(String(err instanceof Error ? `${err.message} ${(err as NodeJS.ErrnoException).code ?? ''}` : err))) {
      throw new UserError(`Job file ${path} is loaded as CommonJS and cannot import tsflink's ES modules: name it .mts, or add "type": "module" to the package.json nearest to it.`, 1, { cause: err });
    }
    throw new UserError(`Job file ${path} could not be loaded: ${syntax ?? describeLoadError(err, from === undefined ? file : resolve(path))}`, 1, { cause: err });
  }
  if (typeof module.default !== 'function') {
    throw new UserError(`Job file ${path} has no default export; export the job as: export default (env, args) => { ... }`, 1);
  }
  return module.default as JobMain;
}

/**
 * A syntax error in the job file, as `message (file:line:column)`. Checked with esbuild (what tsx
 * compiles with) because the loader's own error depends on the module mode: in CommonJS mode
 * Node reports a confusing require cycle instead of the syntax error.
 */
async function syntaxError(file: string): Promise<string | undefined> {
  const { transform } = await import('esbuild');
  const source = await readFile(file, 'utf8');
  try {
    await transform(source, { loader: /\.[cm]?tsx$/.test(file) ? 'tsx' : /\.[cm]?ts$/.test(file) ? 'ts' : 'js', format: 'esm', sourcefile: file });
    return undefined;
  } catch (err) {
    const first = (err as { errors?: { text: string; location?: { line: number; column: number } | null }[] }).errors?.[0];
    if (first === undefined) return undefined;
    return first.location ? `${first.text} (${file}:${first.location.line}:${first.location.column + 1})` : first.text;
  }
}

/** The first line of the error, and where in the user's file it happened when that is known. */
export function describeLoadError(err: unknown, file: string): string {
  const message = err instanceof Error ? err.message.split('\n')[0] ?? '' : String(err);
  const stack = err instanceof Error ? err.stack ?? '' : '';
  const escaped = file.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
  const at = new RegExp(`${escaped}:(\\d+)(?::(\\d+))?`).exec(`${message}\n${stack}`);
  return at === null ? message : `${message} (${file}:${at[1]}${at[2] === undefined ? '' : `:${at[2]}`})`;
}
