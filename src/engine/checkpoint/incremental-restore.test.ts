import { describe, expect, it } from 'vitest';
import { ownsRestoredSnapshot, underRoot } from './incremental-restore.ts';

const JOB = 'a'.repeat(32);
const OTHER = 'b'.repeat(32);

describe('underRoot', () => {
  it('is the snapshot directory two levels below the root, local (relative, file:) or s3://', () => {
    expect(underRoot(`/ck/${JOB}/chk-3`, '/ck')).toBe(true);
    expect(underRoot(`/ck/${JOB}/chk-3/_metadata`, '/ck/')).toBe(true);
    expect(underRoot(`file:///ck/${JOB}/chk-3`, '/ck')).toBe(true);
    expect(underRoot(`s3://b/ck/${JOB}/chk-3`, 's3://b/ck')).toBe(true);
    expect(underRoot(`s3://b/other/${JOB}/chk-3`, 's3://b/ck')).toBe(false);
    expect(underRoot('/sp/savepoint-aaaaaa-bbbbbbbbbbbb', '/ck')).toBe(false);
  });
});

describe('ownsRestoredSnapshot', () => {
  const base = { checkpointDir: '/ck', jobId: JOB };
  it("builds on a failover, a claim and the job's own directory; never on no_claim of another job or another root", () => {
    expect(ownsRestoredSnapshot({ ...base, restoreFrom: `/ck/${JOB}/chk-3`, userRestore: undefined, claimMode: undefined })).toBe(true);
    expect(ownsRestoredSnapshot({ ...base, restoreFrom: `/ck/${OTHER}/chk-3`, userRestore: `/ck/${OTHER}/chk-3`, claimMode: 'CLAIM' })).toBe(true);
    expect(ownsRestoredSnapshot({ ...base, restoreFrom: `/ck/${OTHER}/chk-3`, userRestore: `/ck/${OTHER}/chk-3`, claimMode: 'NO_CLAIM' })).toBe(false);
    // The user's snapshot, then the job's own checkpoint after a failure.
    expect(ownsRestoredSnapshot({ ...base, restoreFrom: `/ck/${JOB}/chk-5`, userRestore: `/ck/${OTHER}/chk-3`, claimMode: 'NO_CLAIM' })).toBe(true);
    // Resumed by a new JobManager: restored from what it was given, in its own directory.
    expect(ownsRestoredSnapshot({ ...base, restoreFrom: `/ck/${JOB}/chk-5`, userRestore: `/ck/${JOB}/chk-5`, claimMode: 'NO_CLAIM' })).toBe(true);
    // Shared paths are relative to the checkpoint root: another root's chains cannot be referred to.
    expect(ownsRestoredSnapshot({ ...base, restoreFrom: `/elsewhere/${OTHER}/chk-3`, userRestore: `/elsewhere/${OTHER}/chk-3`, claimMode: 'CLAIM' })).toBe(false);
    expect(ownsRestoredSnapshot({ ...base, checkpointDir: null, restoreFrom: `/ck/${JOB}/chk-3`, userRestore: undefined, claimMode: undefined })).toBe(false);
  });

  it("builds on a snapshot the JobManager claimed into the job's retained checkpoints (its thread gets no claim mode), under the root only", () => {
    const claimed = `/ck/${OTHER}/chk-3`;
    expect(ownsRestoredSnapshot({ ...base, restoreFrom: claimed, userRestore: claimed, claimMode: undefined, retained: [claimed] })).toBe(true);
    expect(ownsRestoredSnapshot({ ...base, restoreFrom: `${claimed}/_metadata`, userRestore: `${claimed}/_metadata`, claimMode: undefined, retained: [`file://${claimed}`] })).toBe(true);
    expect(ownsRestoredSnapshot({ ...base, restoreFrom: claimed, userRestore: claimed, claimMode: undefined, retained: [`/ck/${JOB}/chk-4`] })).toBe(false);
    expect(ownsRestoredSnapshot({ ...base, restoreFrom: `/elsewhere/${OTHER}/chk-3`, userRestore: `/elsewhere/${OTHER}/chk-3`, claimMode: undefined, retained: [`/elsewhere/${OTHER}/chk-3`] })).toBe(false);
  });
});
