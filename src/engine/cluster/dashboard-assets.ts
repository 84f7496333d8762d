/**
 * The web dashboard's files, as the REST server hands them out: a fixed table of paths, each
 * mapped to bytes held in memory, so no part of a request's URL ever reaches the filesystem.
 * The script and style sheet are bundled from `src/web/` with esbuild on the first request and
 * kept: a fresh clone needs no build step, and nothing built is committed.
 */
import { fileURLToPath } from 'node:url';

export interface DashboardAsset {
  readonly contentType: string;
  readonly body: Buffer;
}

/** The dashboard's answer for a path, or undefined when the path is not one of its files. */
export type DashboardAssets = (path: string) => Promise<DashboardAsset | undefined>;

/** Bundled script and style sheet. */
export interface DashboardBundle {
  readonly js: string;
  readonly css: string;
}

/**
 * Only the page's own script, style sheet and REST calls (same origin); no inline script or
 * style, no frames, no forms posting elsewhere. The page builds its DOM from text nodes, and
 * this keeps a slip from turning into script execution.
 */
export const DASHBOARD_CSP =
  "default-src 'none'; script-src 'self'; style-src 'self'; connect-src 'self'; img-src 'self'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'";

export const DASHBOARD_PATHS = ['/', '/index.html', '/web/app.js', '/web/app.css', '/web/favicon.svg'] as const;

const INDEX_HTML = `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>tsflink dashboard</title>
<link rel="icon" href="/web/favicon.svg" type="image/svg+xml">
<link rel="stylesheet" href="/web/app.css">
<script type="module" src="/web/app.js"></script>
</head>
<body>
<noscript>The dashboard needs JavaScript. The same data is on the REST API, e.g. <a href="/jobs/overview">/jobs/overview</a>.</noscript>
<div id="app"></div>
</body>
</html>
`;

const FAVICON = '<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 16 16"><rect width="16" height="16" rx="3" fill="#1f5fbf"/><path d="M3 11 L6 6 L9 9 L13 4" stroke="#fff" stroke-width="2" fill="none"/></svg>';

const ENTRY = fileURLToPath(new URL('../../web/main.ts', import.meta.url));

/** Bundles src/web/main.ts for the browser, in memory. */
export async function bundleDashboard(): Promise<DashboardBundle> {
  const { build } = await import('esbuild');
  const result = await build({
    entryPoints: { app: ENTRY },
    bundle: true,
    write: false,
    outdir: '/dashboard-out',
    format: 'esm',
    platform: 'browser',
    target: 'es2022',
    minify: true,
    sourcemap: false,
    logLevel: 'silent',
    charset: 'utf8',
  });
  const text = (ext: string): string => {
    const file = result.outputFiles.find((f) => f.path.endsWith(ext));
    if (file === undefined) throw new Error(`the dashboard bundle has no ${ext} output`);
    return file.text;
  };
  return { js: text('.js'), css: text('.css') };
}

/** Serves the dashboard, bundling once on first use; a failed bundle is retried on the next request. */
export function dashboardAssets(bundle: () => Promise<DashboardBundle> = bundleDashboard): DashboardAssets {
  let built: Promise<Map<string, DashboardAsset>> | undefined;
  const table = async (): Promise<Map<string, DashboardAsset>> => {
    const { js, css } = await bundle();
    const html: DashboardAsset = { contentType: 'text/html; charset=UTF-8', body: Buffer.from(INDEX_HTML) };
    return new Map<string, DashboardAsset>([
      ['/', html],
      ['/index.html', html],
      ['/web/app.js', { contentType: 'text/javascript; charset=UTF-8', body: Buffer.from(js) }],
      ['/web/app.css', { contentType: 'text/css; charset=UTF-8', body: Buffer.from(css) }],
      ['/web/favicon.svg', { contentType: 'image/svg+xml', body: Buffer.from(FAVICON) }],
    ]);
  };
  return async (path) => {
    if (!(DASHBOARD_PATHS as readonly string[]).includes(path)) return undefined;
    built ??= table().catch((err: unknown) => {
      built = undefined;
      throw err;
    });
    return (await built).get(path);
  };
}
