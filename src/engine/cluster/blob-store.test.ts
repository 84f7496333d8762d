/** The JobManager's store of submitted job code: content-addressed, whole files only, and cleaned at start. */
import { readdir, writeFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { describe, expect, it } from 'vitest';
import { tempDir } from '../../../test/support/temp-dir.ts';
import { BlobStore, jobManagerBlobDirectory } from './blob-store.ts';
import { bundleKey } from './job-bundle.ts';

describe('blob store', () => {
  it('stores a bundle once under its SHA-256, gives it back, and knows no other key', async () => {
    const dir = await tempDir();
    try {
      const store = new BlobStore(join(dir.path, 'blobs'));
      const key = await store.put('export default () => {};\n');
      expect(key).toBe(bundleKey('export default () => {};\n'));
      expect(await store.put('export default () => {};\n')).toBe(key);
      expect(await readdir(store.directory)).toEqual([`${key}.tsflink-job.mjs`]);
      expect(await store.get(key)).toBe('export default () => {};\n');
      expect(await store.get('0'.repeat(64))).toBeUndefined();
      expect(await store.get('../jobs/x.json')).toBeUndefined();
      expect(() => store.path('../jobs/x.json')).toThrow('not a job bundle key: ../jobs/x.json');
    } finally {
      await dir.remove();
    }
  });

  it('keeps only the bundles of jobs that still run, and no leftover temporary file', async () => {
    const dir = await tempDir();
    try {
      const store = new BlobStore(dir.path);
      const running = await store.put('// running\n');
      const ended = await store.put('// ended\n');
      await writeFile(join(dir.path, `.${running}.abcd1234.tmp`), '// half written');
      await store.keepOnly(new Set([running]));
      expect(await readdir(dir.path)).toEqual([`${running}.tsflink-job.mjs`]);
      expect(await store.get(ended)).toBeUndefined();
      await new BlobStore(join(dir.path, 'never-made')).keepOnly(new Set());
    } finally {
      await dir.remove();
    }
  });

  it('lives in the working directory, or under blob.storage.directory in a directory named after the working directory', () => {
    expect(jobManagerBlobDirectory('/var/jm', undefined)).toBe(join('/var/jm', 'blobs'));
    const a = jobManagerBlobDirectory('/var/jm-a', '/blobs');
    expect(a).toMatch(/^\/blobs\/tsflink-jobmanager-blobs-[0-9a-f]{16}$/);
    // The same cluster finds its code again; another cluster sharing the directory keeps apart.
    expect(jobManagerBlobDirectory('/var/jm-a/', 'relative/../../blobs')).toBe(jobManagerBlobDirectory('/var/jm-a', resolve('relative/../../blobs')));
    expect(jobManagerBlobDirectory('/var/jm-a', '/blobs')).toBe(a);
    expect(jobManagerBlobDirectory('/var/jm-b', '/blobs')).not.toBe(a);
  });
});
