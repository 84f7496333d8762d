/** The JobManager's store of submitted job code: content-addressed, whole files only, and cleaned at start. */
import { readdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { tempDir } from '../../../test/support/temp-dir.ts';
import { BlobStore } from './blob-store.ts';
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
});
