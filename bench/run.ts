/**
 * `npm run bench` runs every benchmark; `npm run bench -- <name>...` only the named ones.
 * Each benchmark is a module under bench/ exporting `run(): Promise<void>`.
 */

const BENCHMARKS: Readonly<Record<string, () => Promise<{ run(): Promise<void> }>>> = {
  format: () => import('./format.ts'),
  rekey: () => import('./rekey.ts'),
  network: () => import('./network.ts'),
  state: () => import('./state-snapshot.ts'),
  engine: () => import('./engine.ts'),
  codec: () => import('./codec.ts'),
  values: () => import('./state-values.ts'),
  rewrite: () => import('./rewrite-changes.ts'),
  stores: () => import('./stores.ts'),
  handles: () => import('./state-handles.ts'),
  pause: () => import('./backend-pause.ts'),
  backends: () => import('./backends.ts'),
  scale: () => import('./scale.ts'),
  dashboard: () => import('./dashboard.ts'),
  migration: () => import('./schema-migration.ts'),
  broadcast: () => import('./broadcast.ts'),
  async: () => import('./async.ts'),
  windows: () => import('./windows.ts'),
  bundle: () => import('./bundle.ts'),
  'local-recovery': () => import('./local-recovery.ts'),
  changes: () => import('./change-tracking.ts'),
  replay: () => import('./replay.ts'),
  incremental: () => import('./incremental.ts'),
  'native-savepoint': () => import('./native-savepoint.ts'),
};

const names = Object.keys(BENCHMARKS);
const wanted = process.argv.slice(2);
const unknown = wanted.filter((n) => !Object.hasOwn(BENCHMARKS, n));
if (unknown.length > 0) {
  process.stderr.write(`unknown benchmark${unknown.length > 1 ? 's' : ''}: ${unknown.join(', ')}\nbenchmarks: ${names.join(', ')}\n`);
  process.exit(2);
}

for (const name of wanted.length > 0 ? wanted : names) {
  const load = BENCHMARKS[name]!;
  const bench = await load();
  await bench.run();
}
