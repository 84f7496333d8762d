/**
 * `npm run bench -- dashboard`: what the web dashboard's in-process bundling costs a browser's
 * first page load. A page load is three requests (`/`, `/web/app.js`, `/web/app.css`); the
 * first on a JobManager bundles src/web with esbuild, later ones are answered from memory. The
 * baseline is three JSON API requests on the same server, measured in the same rounds.
 *
 * Environment: BENCH_REPS (rounds, default 7).
 */
import type { ClusterApi } from '../src/engine/cluster/cluster-api.ts';
import { dashboardAssets } from '../src/engine/cluster/dashboard-assets.ts';
import { startRestServer } from '../src/engine/cluster/rest-server.ts';
import type { RestServer } from '../src/engine/cluster/rest-server.ts';
import { bytes, duration, interleave, num, range, ratios, table, timed } from './stats.ts';

const REPS = Number(process.env['BENCH_REPS'] ?? 7);

// Answers of the size a small cluster gives; only these three routes are called.
const api = {
  overview: async () => ({ taskmanagers: 0, 'slots-total': 0, 'slots-available': 0, 'jobs-running': 1, 'jobs-finished': 0, 'jobs-cancelled': 0, 'jobs-failed': 0, 'flink-version': '0.1.0', pid: 1, 'working-dir': '/tmp' }),
  jobsOverview: async () => ({ jobs: [] }),
  dashboardConfig: async () => ({ 'refresh-interval': 3000 }),
} as unknown as ClusterApi;

const PAGE = ['/', '/web/app.js', '/web/app.css'];
const API = ['/overview', '/jobs/overview', '/config'];

async function load(server: RestServer, paths: readonly string[]): Promise<number> {
  let size = 0;
  for (const path of paths) {
    const response = await fetch(`${server.url}${path}`);
    if (!response.ok) throw new Error(`${path}: HTTP ${response.status}`);
    size += (await response.arrayBuffer()).byteLength;
  }
  return size;
}

const fresh = (): Promise<RestServer> => startRestServer(api, { bindAddress: '127.0.0.1', port: 0, dashboard: dashboardAssets() });

export async function run(): Promise<void> {
  // The process's first bundle also starts esbuild's service: a JobManager's first page load.
  const cold = await fresh();
  await load(cold, API); // warms fetch and the server, so the timing below is the bundling's
  let pageBytes = 0;
  const coldSeconds = await timed(async () => (pageBytes = await load(cold, PAGE)));
  await cold.close();

  const warm = await fresh();
  await load(warm, PAGE);
  const samples = await interleave(
    {
      first: async () => {
        const server = await fresh();
        const seconds = await timed(() => load(server, PAGE));
        await server.close();
        return seconds;
      },
      cached: () => timed(() => load(warm, PAGE)),
      api: () => timed(() => load(warm, API)),
    },
    { reps: REPS },
  );
  await warm.close();
  const row = (label: string, s: readonly number[], note: string): string[] => {
    const r = range(s);
    const x = range(ratios(s, samples.api));
    return [label, duration(r.median), `${duration(r.min)}-${duration(r.max)}`, `${num(x.median)}x`, note];
  };
  process.stdout.write(`dashboard: a page load (${PAGE.join(' ')}, ${bytes(pageBytes)}) beside three API requests, ${REPS} rounds\n`);
  process.stdout.write(
    `${table([
      ['case', 'median', 'range', 'vs API', ''],
      ['first in process', duration(coldSeconds), '-', '-', 'bundles and starts esbuild (once per JobManager)'],
      row('first on a server', samples.first, 'bundles (esbuild already running)'),
      row('cached', samples.cached, 'from memory'),
      row('3 API requests', samples.api, 'baseline'),
    ])}\n`,
  );
}
