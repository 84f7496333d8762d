/**
 * The target directory typed into the dashboard, checked before it is sent: the JobManager checks
 * it again (and whether it can write there), this only catches what is surely wrong early.
 */
export type TargetCheck = { readonly ok: true; readonly value: string | undefined } | { readonly ok: false; readonly reason: string };

export function checkTargetDirectory(text: string): TargetCheck {
  const value = text.trim();
  // Empty: the JobManager's execution.checkpointing.savepoint-dir, or its error saying none is set.
  if (value === '') return { ok: true, value: undefined };
  if (value.length > 4096) return { ok: false, reason: 'The directory is longer than 4096 characters.' };
  if (/[\u0000-\u001f\u007f]/.test(value)) return { ok: false, reason: 'The directory contains control characters.' };
  const local = /^file:(\/\/)?(?=\/)/.test(value) ? value.replace(/^file:(\/\/)?/, '') : value;
  const remote = /^[a-z][a-z0-9+.-]*:\/\/[^/]+/i.test(value) && !value.startsWith('file:');
  if (!remote && !local.startsWith('/')) {
    return { ok: false, reason: 'Give an absolute directory (/path, file:///path) or an object store URI (s3://bucket/path).' };
  }
  if (value.split('/').includes('..')) return { ok: false, reason: "The directory must not contain '..' segments." };
  return { ok: true, value };
}
