/**
 * Summarises a V8 .cpuprofile (from `node --cpu-prof`, see bench/profile-engine.ts): the
 * functions with the most self time, and with the most total time (self + callees, each
 * function counted once per sample even when recursive), as shares of all samples.
 *
 *   [FROM=0.4] [TO=0.8] node --import tsx bench/profile-summary.ts FILE.cpuprofile [TOP=30]
 *
 * FROM and TO limit it to a window of the samples, as fractions of the run.
 */
import { readFile } from 'node:fs/promises';

interface ProfileNode {
  readonly id: number;
  readonly callFrame: { readonly functionName: string; readonly url: string; readonly lineNumber: number };
  readonly children?: readonly number[];
}

interface Profile {
  readonly nodes: readonly ProfileNode[];
  readonly samples: readonly number[];
}

const [file, topArg] = process.argv.slice(2);
if (file === undefined) {
  process.stderr.write('usage: profile-summary.ts FILE.cpuprofile [TOP]\n');
  process.exit(2);
}
const top = Number(topArg ?? 30);
const profile = JSON.parse(await readFile(file, 'utf8')) as Profile;

const byId = new Map<number, ProfileNode>();
const parent = new Map<number, number>();
for (const n of profile.nodes) {
  byId.set(n.id, n);
  for (const c of n.children ?? []) parent.set(c, n.id);
}

function label(n: ProfileNode): string {
  const { functionName, url, lineNumber } = n.callFrame;
  const where = url === '' ? '' : ` ${url.replace(/^.*\/(src|bench|node_modules)\//, '$1/')}:${lineNumber + 1}`;
  return `${functionName === '' ? '(anonymous)' : functionName}${where}`;
}

// FROM and TO (fractions of the run, by sample order: 0.5 is the second half) pick a window, e.g.
// the steady state after a loading phase.
const from = Math.floor(Number(process.env.FROM ?? 0) * profile.samples.length);
const to = Math.ceil(Number(process.env.TO ?? 1) * profile.samples.length);
const window = profile.samples.slice(from, to);
const self = new Map<string, number>();
const total = new Map<string, number>();
for (const id of window) {
  const node = byId.get(id);
  if (node === undefined) continue;
  const l = label(node);
  self.set(l, (self.get(l) ?? 0) + 1);
  const seen = new Set<string>();
  for (let cur: number | undefined = id; cur !== undefined; cur = parent.get(cur)) {
    const name = label(byId.get(cur)!);
    if (seen.has(name)) continue;
    seen.add(name);
    total.set(name, (total.get(name) ?? 0) + 1);
  }
}

const samples = window.length;
function print(title: string, m: Map<string, number>): void {
  process.stdout.write(`${title} (${samples} samples)\n`);
  for (const [name, n] of [...m].sort((a, b) => b[1] - a[1]).slice(0, top)) {
    process.stdout.write(`${((100 * n) / samples).toFixed(1).padStart(6)}%  ${name}\n`);
  }
}
print('self', self);
process.stdout.write('\n');
print('total', total);
