/**
 * A TaskManager's cache of job code against a real HTTP server standing in for the JobManager's
 * `GET /blobs/:key`: fetched once and kept, shared by concurrent deploys, checked against its
 * key, and a failure says what went wrong and is tried again by the next deploy.
 */
import { readFile, readdir } from 'node:fs/promises';
import { type Server, createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { tempDir } from '../../../../test/support/temp-dir.ts';
import { bundleKey } from '../job-bundle.ts';
import { blobCache } from './blob-cache.ts';

const CODE = 'export default () => {};\n';
const KEY = bundleKey(CODE);
let server: Server;
let url: string;
let requests: string[];
/** What the server answers: the code, other bytes under the same key, or an error. */
let answer: 'code' | 'tampered' | 'missing';
let dir: Awaited<ReturnType<typeof tempDir>>;

beforeAll(async () => {
  server = createServer((req, res) => {
    requests.push(req.url ?? '');
    if (answer === 'missing') {
      res.writeHead(404, { 'content-type': 'application/json' }).end(JSON.stringify({ errors: [`No job code with key ${KEY} on this JobManager.`] }));
      return;
    }
    res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ code: answer === 'code' ? CODE : `${CODE}// changed\n` }));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});
afterAll(async () => {
  await new Promise((resolve) => server.close(resolve));
});
beforeEach(async () => {
  requests = [];
  answer = 'code';
  dir = await tempDir('tsflink-blob-cache-');
});
afterEach(async () => {
  await dir.remove();
});

describe('blob cache', () => {
  it('fetches a bundle once, for concurrent deploys too, and keeps it under its key', async () => {
    const cache = blobCache(join(dir.path, 'tm'), url);
    const paths = await Promise.all([cache.path(KEY), cache.path(KEY), cache.path(KEY)]);
    expect(new Set(paths)).toEqual(new Set([join(dir.path, 'tm', `${KEY}.tsflink-job.mjs`)]));
    expect(await cache.path(KEY)).toBe(paths[0]);
    expect(requests).toEqual([`/blobs/${KEY}`]);
    expect(await readFile(paths[0]!, 'utf8')).toBe(CODE);
    // A cache started again on the same directory (a restarted TaskManager) finds it there.
    expect(await blobCache(join(dir.path, 'tm'), url).path(KEY)).toBe(paths[0]);
    expect(requests).toHaveLength(1);
    await cache.remove();
    await expect(readdir(dir.path)).resolves.toEqual([]);
  });

  it('refuses code that does not match its key, and a key the JobManager does not have, keeping nothing', async () => {
    const cache = blobCache(join(dir.path, 'tm'), url);
    answer = 'tampered';
    await expect(cache.path(KEY)).rejects.toThrow(`the job's code fetched from the JobManager at ${url} does not match its key ${KEY}`);
    answer = 'missing';
    await expect(cache.path(KEY)).rejects.toThrow(`cannot fetch the job's code from the JobManager at ${url}: HTTP 404 {"errors":["No job code with key ${KEY} on this JobManager."]}`);
    expect(await readdir(join(dir.path, 'tm')).catch(() => [])).toEqual([]);
    answer = 'code';
    expect(await cache.path(KEY)).toBe(join(dir.path, 'tm', `${KEY}.tsflink-job.mjs`));
    await expect(cache.path('../../etc/passwd')).rejects.toThrow('not a job bundle key: ../../etc/passwd');
    expect(requests).toHaveLength(3);
  });

  it('says which JobManager did not answer', async () => {
    const cache = blobCache(join(dir.path, 'tm'), 'http://127.0.0.1:1');
    await expect(cache.path(KEY)).rejects.toThrow(/^cannot fetch the job's code from the JobManager at http:\/\/127\.0\.0\.1:1: fetch failed$/);
  });
});
