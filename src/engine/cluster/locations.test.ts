import { describe, expect, it } from 'vitest';
import { externalPath } from './locations.ts';

describe('externalPath', () => {
  it("shows every local location as Flink does, file:/abs/path, whichever way the directory was given", () => {
    expect(externalPath('/ck/job/chk-1')).toBe('file:/ck/job/chk-1');
    expect(externalPath('file:///ck/job/chk-1')).toBe('file:/ck/job/chk-1');
    expect(externalPath('file://localhost/ck/job/chk-1')).toBe('file:/ck/job/chk-1');
    expect(externalPath('file:/ck/job/chk-1')).toBe('file:/ck/job/chk-1');
    expect(externalPath('s3://bucket/ck/job/chk-1')).toBe('s3://bucket/ck/job/chk-1');
  });
});
