/**
 * Which tsflink this is, as `flink --version` and `GET /config` tell it: the version, and the
 * commit when running from a git checkout. Elsewhere Flink's own placeholders for an unknown
 * commit are given, so tools that parse them still can.
 */
import { execFileSync } from 'node:child_process';
import { realpathSync } from 'node:fs';
import { dirname, join } from 'node:path';
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
  const root = realpathSync(join(dirname(fileURLToPath(import.meta.url)), '..'));
  const git = (args: string[]): string => execFileSync('git', args, { cwd: root, encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'], timeout: 5000 }).trim();
  try {
    // Installed inside someone else's repository (their node_modules), the commit would be theirs.
    if (realpathSync(git(['rev-parse', '--show-toplevel'])) !== root) return UNKNOWN;
    const [commitId, commitDate] = git(['log', '-1', '--format=%h %cI']).split(' ');
    return commitId && commitDate ? { commitId, commitDate } : UNKNOWN;
  } catch {
    return UNKNOWN;
  }
}
