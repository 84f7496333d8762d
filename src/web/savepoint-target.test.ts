import { describe, expect, it } from 'vitest';
import { checkTargetDirectory } from './savepoint-target.ts';

describe('savepoint target directory typed into the dashboard', () => {
  it('accepts absolute directories and object store URIs, and empty for the cluster default', () => {
    for (const dir of ['/tmp/savepoints', 'file:///tmp/sp', 'file:/tmp/sp', 's3://bucket/savepoints', '  /tmp/sp  ']) {
      expect(checkTargetDirectory(dir)).toEqual({ ok: true, value: dir.trim() });
    }
    expect(checkTargetDirectory('  ')).toEqual({ ok: true, value: undefined });
  });

  it('refuses relative paths, parent segments and control characters, saying why', () => {
    expect(checkTargetDirectory('savepoints')).toEqual({ ok: false, reason: 'Give an absolute directory (/path, file:///path) or an object store URI (s3://bucket/path).' });
    expect(checkTargetDirectory('file:relative')).toMatchObject({ ok: false });
    expect(checkTargetDirectory('s3://')).toMatchObject({ ok: false });
    expect(checkTargetDirectory('/tmp/../etc')).toEqual({ ok: false, reason: "The directory must not contain '..' segments." });
    expect(checkTargetDirectory('/tmp/a\nb')).toEqual({ ok: false, reason: 'The directory contains control characters.' });
    expect(checkTargetDirectory(`/${'a'.repeat(4096)}`)).toMatchObject({ ok: false });
  });
});
