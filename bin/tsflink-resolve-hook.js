// Module resolve hook (registered by bin/register-loaders.js): a job file anywhere imports
// `tsflink` (and any subpath the package exports) from THIS installation, as Flink provides its
// API to every submitted jar. The specifier is resolved as if imported from inside this package
// (Node's package self-reference through "exports"), so the job and the runtime share one copy of
// the engine (its classes pass `instanceof`), and a subpath the package does not export fails
// with Node's own error.
const SELF = new URL('../package.json', import.meta.url).href;

export async function resolve(specifier, context, nextResolve) {
  if (specifier === 'tsflink' || specifier.startsWith('tsflink/')) {
    return nextResolve(specifier, { ...context, parentURL: SELF });
  }
  return nextResolve(specifier, context);
}
