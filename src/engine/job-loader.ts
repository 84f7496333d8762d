/**
 * Loads a user's job module: a TypeScript (or JavaScript) file whose default export builds the
 * job, `export default (env: StreamExecutionEnvironment, args: string[]) => void`. The process
 * runs under tsx, so no build step is needed, and with a hook that resolves `tsflink` in a job
 * file anywhere to this installation (both registered by bin/register-loaders.js).
 */
import { readFile, realpath, stat } from 'node:fs/promises';
import { basename, extname, resolve } from 'node:path';
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
    if (syntax === undefined && (await esmSyntaxInCommonJs(err, file))) {
      throw new UserError(`Job file ${path} uses ES module syntax (import or export), but ${esmAdvice(file)}`, 1, { cause: err });
    }
    const required = requiredTsflink(err);
    if (required !== undefined) {
      const names = new Set([file, await realpath(file).catch(() => file)]);
      const who = names.has(required.from) ? `Job file ${path}` : `Job file ${path} could not be loaded: ${required.from}`;
      // An ES module can require() too (createRequire): it needs only the import.
      const advice = /\.m[jt]sx?$/.test(required.from) ? '.' : `; ${esmAdvice(required.from)}`;
      throw new UserError(`${who} calls require('${required.specifier}'), but tsflink can only be imported: use import ... from '${required.specifier}' in an ES module${advice}`, 1, { cause: err });
    }
    throw new UserError(`Job file ${path} could not be loaded: ${syntax ?? describeLoadError(err, from === undefined ? file : resolve(path))}`, 1, { cause: err });
  }
  if (typeof module.default !== 'function') {
    throw new UserError(`Job file ${path} has no default export; export the job as: export default (env, args) => { ... }`, 1);
  }
  return module.default as JobMain;
}

/**
 * Whether Node failed on the job file's own `import`/`export` because it loads the file as
 * CommonJS. Under tsx, a .ts or .js file outside a `"type": "module"` package is CommonJS; Node
 * finds ES module syntax in it and then refuses to require() it as an ES module from itself
 * (ERR_REQUIRE_CYCLE_MODULE, or ERR_REQUIRE_ESM, naming the job file); a .cjs file fails to parse
 * at its first `import` or `export`. Only an error about the job file itself counts: one naming
 * another module (a CommonJS job requiring an ES module in a cycle) is that module's problem, and
 * the ordinary load error says so.
 */
async function esmSyntaxInCommonJs(err: unknown, file: string): Promise<boolean> {
  if (!(err instanceof Error)) return false;
  // Node names the module by its real path (a symlinked temp directory, say).
  const names = new Set([file, await realpath(file).catch(() => file)]);
  const code = (err as NodeJS.ErrnoException).code;
  if (code === 'ERR_REQUIRE_CYCLE_MODULE' || code === 'ERR_REQUIRE_ESM') return [...names].some((name) => err.message.includes(`ES Module ${name} `));
  if (err.name !== 'SyntaxError' || !/^(Cannot use import statement outside a module|Unexpected token 'export')$/.test(err.message)) return false;
  return [...names].some((name) => (err.stack ?? '').startsWith(`${name}:`));
}

/**
 * A CommonJS module's `require('tsflink')` (or a subpath): Node's CommonJS resolver does not
 * consult the resolve hook that maps `tsflink` to this installation (Node 20 runs module.register
 * hooks for `import` only), and tsflink's sources are ES modules in TypeScript, which require()
 * under Node 20 cannot load through tsx anyway. The specifier and the file that required it.
 */
function requiredTsflink(err: unknown): { specifier: string; from: string } | undefined {
  if (!(err instanceof Error) || (err as NodeJS.ErrnoException).code !== 'MODULE_NOT_FOUND') return undefined;
  const specifier = /^Cannot find module '(tsflink(?:\/[^']*)?)'/.exec(err.message)?.[1];
  // Node lists the requiring module first in `requireStack`.
  const from = (err as { requireStack?: unknown }).requireStack;
  if (specifier === undefined || !Array.isArray(from) || typeof from[0] !== 'string') return undefined;
  return { specifier, from: from[0] };
}

/** Why Node loads `file` as CommonJS and how to have it load an ES module: a .cjs or .cts file only by its name. */
function esmAdvice(file: string): string {
  const ext = extname(file);
  const stem = basename(file, ext);
  const renamed = `${stem}${/^\.[cm]?tsx?$/.test(ext) ? '.mts' : '.mjs'}`;
  if (ext === '.cjs' || ext === '.cts') return `Node always loads a ${ext} file as CommonJS: name it ${renamed}.`;
  return `Node loads it as CommonJS: name it ${renamed}, or add "type": "module" to the package.json nearest to it.`;
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
