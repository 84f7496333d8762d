import { access, readdir } from 'node:fs/promises';
import { join } from 'node:path';

/** The newest chk-<n> directory with a _metadata below `dir/<jobId>/` (a retained checkpoint). */
export async function latestCheckpoint(dir: string): Promise<string> {
  const [job] = await readdir(dir);
  if (job === undefined) throw new Error(`no job directory in ${dir}`);
  const chks = (await readdir(join(dir, job))).filter((d) => d.startsWith('chk-')).sort((a, b) => Number(b.slice(4)) - Number(a.slice(4)));
  for (const chk of chks) {
    const path = join(dir, job, chk);
    if (await access(join(path, '_metadata')).then(() => true, () => false)) return path;
  }
  throw new Error(`no completed checkpoint in ${dir}`);
}
