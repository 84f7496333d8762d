/**
 * The dashboard's files beside the JSON API on one server: exactly the built files, with a
 * Content-Security-Policy, and nothing else of the URL space changed.
 */
import { request } from 'node:http';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ClusterApi, ClusterOverview } from './cluster-api.ts';
import { DASHBOARD_CSP, bundleDashboard, dashboardAssets } from './dashboard-assets.ts';
import type { DashboardBundle } from './dashboard-assets.ts';
import { startRestServer } from './rest-server.ts';
import type { RestServer } from './rest-server.ts';

const OVERVIEW: ClusterOverview = {
  taskmanagers: 0,
  'slots-total': 0,
  'slots-available': 0,
  'jobs-running': 1,
  'jobs-finished': 0,
  'jobs-cancelled': 0,
  'jobs-failed': 0,
  'flink-version': '0.1.0',
  pid: 1,
  'working-dir': '/tmp/jm',
};
// Only /overview is called here; the rest of the interface is tested in rest-server.test.ts.
const api = { overview: async () => OVERVIEW } as unknown as ClusterApi;

interface Answer {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  body: string;
}

/** A raw request, so that paths such as `/web/../x` reach the server as written. */
function send(server: RestServer, method: string, path: string): Promise<Answer> {
  return new Promise((resolve, reject) => {
    const req = request({ host: '127.0.0.1', port: server.port, method, path }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (chunk: string) => (body += chunk));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body }));
    });
    req.on('error', reject);
    req.end();
  });
}

describe('dashboard on the REST server', () => {
  let server: RestServer;
  let bare: RestServer;
  beforeAll(async () => {
    server = await startRestServer(api, { bindAddress: '127.0.0.1', port: 0, dashboard: dashboardAssets() });
    bare = await startRestServer(api, { bindAddress: '127.0.0.1', port: 0 });
  });
  afterAll(async () => {
    await server?.close();
    await bare?.close();
  });

  it('serves the page at / with its script and style, under a Content-Security-Policy', async () => {
    const page = await send(server, 'GET', '/');
    expect(page.status).toBe(200);
    expect(page.headers['content-type']).toBe('text/html; charset=UTF-8');
    expect(page.headers['content-security-policy']).toBe(DASHBOARD_CSP);
    expect(page.headers['x-content-type-options']).toBe('nosniff');
    expect(page.body).toContain('<script type="module" src="/web/app.js"></script>');
    const script = await send(server, 'GET', '/web/app.js');
    expect(script.status).toBe(200);
    expect(script.headers['content-type']).toBe('text/javascript; charset=UTF-8');
    expect(script.headers['content-security-policy']).toBe(DASHBOARD_CSP);
    // Bundled: the source's own imports are resolved, nothing is left for the browser to fetch.
    expect(script.body).not.toMatch(/\bimport\s*["'{*]|from\s*["']/);
    expect(script.body).toContain('/jobs/overview');
    const style = await send(server, 'GET', '/web/app.css');
    expect(style.headers['content-type']).toBe('text/css; charset=UTF-8');
    expect(style.body).toContain('.job-graph');
    const head = await send(server, 'HEAD', '/?refresh=1');
    expect(head.status).toBe(200);
    expect(head.headers['content-length']).toBe(String(Buffer.byteLength(page.body)));
    expect(head.body).toBe('');
  });

  it('answers any other path as the API does: JSON, and a 404 for what is not a file of the dashboard', async () => {
    for (const path of ['/web/../package.json', '/web/%2e%2e/package.json', '/web/app.js/', '/web/App.js', '/web/main.ts', '/src/web/main.ts', '/web/', '/web', '//web/app.js', '/index.htm']) {
      const answer = await send(server, 'GET', path);
      expect(answer.status, path).toBe(404);
      expect(answer.headers['content-type'], path).toBe('application/json; charset=UTF-8');
      expect(answer.headers['content-security-policy'], path).toBeUndefined();
    }
    const posted = await send(server, 'POST', '/');
    expect([posted.status, posted.body]).toEqual([404, '{"errors":["Not found: /"]}']);
    const overview = await send(server, 'GET', '/overview');
    expect([overview.status, JSON.parse(overview.body)]).toEqual([200, OVERVIEW]);
  });

  it('bundles a script that never parses text as markup or code', async () => {
    const { js } = await bundleDashboard();
    // Job names, exception texts and paths reach the page as data: only text nodes may carry them.
    for (const sink of ['innerHTML', 'outerHTML', 'insertAdjacentHTML', 'document.write', 'eval(', 'new Function', 'createContextualFragment', 'javascript:']) {
      expect(js, sink).not.toContain(sink);
    }
  });

  it('is not there on a server started without it', async () => {
    const answer = await send(bare, 'GET', '/');
    expect([answer.status, answer.body]).toEqual([404, '{"errors":["Not found: /"]}']);
  });

  it('answers a failed bundle with a 500 and bundles again on the next request', async () => {
    let calls = 0;
    const bundle = async (): Promise<DashboardBundle> => {
      calls += 1;
      if (calls === 1) throw new Error('esbuild: disk full');
      return { js: 'console.log(1)', css: 'body{}' };
    };
    const errors: unknown[] = [];
    const flaky = await startRestServer(api, { bindAddress: '127.0.0.1', port: 0, dashboard: dashboardAssets(bundle), onInternalError: (err) => errors.push(err) });
    try {
      const failed = await send(flaky, 'GET', '/web/app.js');
      expect([failed.status, failed.body]).toEqual([500, '{"errors":["Internal server error: esbuild: disk full"]}']);
      expect(errors).toHaveLength(1);
      const next = await send(flaky, 'GET', '/web/app.js');
      expect([next.status, next.body]).toEqual([200, 'console.log(1)']);
      await send(flaky, 'GET', '/web/app.css');
      expect(calls).toBe(2);
    } finally {
      await flaky.close();
    }
  });
});
