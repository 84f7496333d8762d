// Module resolve hook (registered by bin/register-loaders.js): a job file anywhere imports
// `tsflink` (and any subpath the package exports) from THIS installation, as Flink provides its
// API to every submitted jar. The specifier is resolved as if imported from inside this package
// (Node's package self-reference through "exports"), so the job and the runtime share one copy of
// the engine (its classes pass `instanceof`), and a subpath the package does not export fails
// with Node's own error.
//
// A submitted job's bundle (src/engine/cluster/job-bundle.ts, stored as `<key>.tsflink-job.mjs`)
// names this installation's source files as `tsflink-engine:src/...` and its packages by their
// bare names: both resolve here, wherever the bundle was stored.
const ROOT = new URL('../', import.meta.url);
const SELF = new URL('../package.json', import.meta.url).href;
const ENGINE_SCHEME = 'tsflink-engine:';
const BUNDLE_SUFFIX = '.tsflink-job.mjs';

export async function resolve(specifier, context, nextResolve) {
  if (specifier === 'tsflink' || specifier.startsWith('tsflink/')) {
    return nextResolve(specifier, { ...context, parentURL: SELF });
  }
  if (specifier.startsWith(ENGINE_SCHEME)) {
    const path = specifier.slice(ENGINE_SCHEME.length);
    const url = new URL(path, ROOT);
    // Only this installation's sources: a bundle cannot name a file outside them.
    if (!path.startsWith('src/') || !url.href.startsWith(new URL('src/', ROOT).href)) throw new Error(`a job bundle imports '${specifier}', which is not a source file of this installation`);
    return nextResolve(url.href, context);
  }
  if (context.parentURL?.endsWith(BUNDLE_SUFFIX) && isBare(specifier)) {
    return nextResolve(specifier, { ...context, parentURL: SELF });
  }
  return nextResolve(specifier, context);
}

function isBare(specifier) {
  return !specifier.startsWith('.') && !specifier.startsWith('/') && !specifier.startsWith('node:') && !/^[a-z][a-z0-9+.-]*:/i.test(specifier);
}
