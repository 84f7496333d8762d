/**
 * A job's code as the client submits it (Flink uploads the user's jar to the blob server): the
 * job file bundled with its own local imports into one ES module, so a TaskManager on another
 * host needs no copy of the user's directory. What every TaskManager already has stays outside
 * the bundle and is resolved there (bin/tsflink-resolve-hook.js):
 * - `tsflink` and its subpaths, the API every job is given;
 * - files of this installation's `src/` (a job in the checkout importing `../src/index.ts`),
 *   rewritten to `tsflink-engine:src/...`, so the job shares the runtime's copy of the engine
 *   and its classes pass `instanceof`;
 * - packages of this installation's `node_modules`, kept as bare specifiers;
 * - Node's built-in modules.
 * The user's other packages are bundled, as a fat jar carries its dependencies.
 */
import { createHash } from 'node:crypto';
import { dirname, join, relative, resolve, sep } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { UserError } from '../../errors.ts';

/** Prefix of an import of this installation's own source files inside a bundle. */
export const ENGINE_SCHEME = 'tsflink-engine:';
/** How a bundle file is named where it is stored: the hook knows its imports by it. */
export const BUNDLE_SUFFIX = '.tsflink-job.mjs';

const ROOT = fileURLToPath(new URL('../../../', import.meta.url));
/** Marks the resolve call the plugin makes itself, so it does not recurse into its own hook. */
const INNER = 'tsflink-inner-resolve';

/** The content address of a bundle: its SHA-256, hex. */
export function bundleKey(code: string): string {
  return createHash('sha256').update(code).digest('hex');
}

export function isBundleKey(text: string): boolean {
  return /^[0-9a-f]{64}$/.test(text);
}

/** The job file (absolute path) as one ES module; a failure is one line naming the file. */
export async function bundleJob(jobFile: string): Promise<string> {
  const { build } = await import('esbuild');
  let result: Awaited<ReturnType<typeof build>>;
  try {
    result = await build({
      entryPoints: [jobFile],
      bundle: true,
      platform: 'node',
      format: 'esm',
      target: 'node20',
      write: false,
      absWorkingDir: dirname(jobFile),
      // Stack traces of the user's code then name the user's files and lines (see withSourceMap).
      outfile: join(dirname(jobFile), 'job-bundle.mjs'),
      sourcemap: 'external',
      sourcesContent: false,
      logLevel: 'silent',
      plugins: [
        {
          name: 'tsflink-installation',
          setup(b) {
            b.onResolve({ filter: /^tsflink(\/|$)/ }, (args) => ({ path: args.path, external: true }));
            b.onResolve({ filter: /.*/ }, async (args) => {
              if (args.kind === 'entry-point' || args.pluginData === INNER) return undefined;
              const resolved = await b.resolve(args.path, { kind: args.kind, resolveDir: args.resolveDir, importer: args.importer, pluginData: INNER });
              if (resolved.errors.length > 0) return undefined; // esbuild reports it, naming the importer
              if (resolved.external) return { path: args.path, external: true };
              const inRoot = relative(ROOT, resolved.path);
              if (inRoot.startsWith(`node_modules${sep}`)) return { path: args.path, external: true };
              if (inRoot.startsWith(`src${sep}`)) return { path: `${ENGINE_SCHEME}${inRoot.split(sep).join('/')}`, external: true };
              return resolved;
            });
          },
        },
      ],
    });
  } catch (err) {
    const first = (err as { errors?: { text: string; location?: { file: string; line: number; column: number } | null }[] }).errors?.[0];
    const where = first?.location ? ` (${resolve(dirname(jobFile), first.location.file)}:${first.location.line}:${first.location.column + 1})` : '';
    throw new UserError(`Job file ${jobFile} could not be bundled for the cluster: ${first?.text ?? (err instanceof Error ? err.message : String(err))}${where}`, 1, { cause: err });
  }
  const code = result.outputFiles?.find((f) => f.path.endsWith('.mjs'));
  const map = result.outputFiles?.find((f) => f.path.endsWith('.mjs.map'));
  if (code === undefined || map === undefined) throw new UserError(`Job file ${jobFile} could not be bundled for the cluster: esbuild wrote nothing`, 1);
  return withSourceMap(code.text, map.text, dirname(jobFile));
}

/**
 * The bundle with its source map inline, the map's sources made absolute file URLs: esbuild names
 * them relative to the bundle, but the bundle is stored elsewhere (a JobManager's or
 * TaskManager's blob directory), and stack traces should name the files the user wrote.
 */
function withSourceMap(code: string, mapText: string, bundleDir: string): string {
  const map = JSON.parse(mapText) as { sources: string[] };
  map.sources = map.sources.map((s) => pathToFileURL(resolve(bundleDir, s)).href);
  const body = code.replace(/\n\/\/# sourceMappingURL=[^\n]*\n?$/, '\n');
  return `${body}//# sourceMappingURL=data:application/json;base64,${Buffer.from(JSON.stringify(map)).toString('base64')}\n`;
}
