/**
 * Which tsflink this is, as `flink --version` and `GET /config` tell it: the version, and the
 * commit when running from a git checkout. Elsewhere Flink's own placeholders for an unknown
 * commit are given, so tools that parse them still can.
 */
import { execFileSync } from 'node:child_process';
import { dirname } from 'node:path';
import { fileURLToPath } from 'node:url';

export const VERSION = '0.1.0';

/** Flink's placeholders when the build did not record its commit. */
const UNKNOWN = { commitId: 'DeadD0d0', commitDate: '1970-01-01T00:00:00+00:00' };

let cached: { readonly commitId: string; readonly commitDate: string } | undefined;

export function revision(): { readonly commitId: string; readonly commitDate: string } {
  cached ??= readRevision();
  return cached;
}

function readRevision(): { commitId: string; commitDate: string } {
  try {
    const out = execFileSync('git', ['log', '-1', '--format=%h %cI'], { cwd: dirname(fileURLToPath(import.meta.url)), encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'], timeout: 5000 }).trim();
    const [commitId, commitDate] = out.split(' ');
    return commitId && commitDate ? { commitId, commitDate } : UNKNOWN;
  } catch {
    return UNKNOWN;
  }
}
