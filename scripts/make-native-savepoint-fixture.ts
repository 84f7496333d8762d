/**
 * Writes the native savepoint fixture once: fixtures/savepoints/v3/native-savepoint/, a native
 * savepoint (`--type native`) of the incremental fixture's chk-3, its shared files copied in as
 * `shared/<name>` (FORMAT.md 3.4, copied files, required feature bit 2), and the golden `inspect`
 * outputs under fixtures/golden/v3/. Never rewrites what exists.
 *
 *   npx tsx scripts/make-native-savepoint-fixture.ts
 */
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { dirname, join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { writeNativeSavepointOf } from '../src/format/write-native-savepoint.ts';
import { LocalObjectStore } from '../src/storage/local-store.ts';

const root = dirname(dirname(fileURLToPath(import.meta.url)));
const chk3 = join(root, 'fixtures', 'savepoints', 'v3', 'incremental', '3c0ffee0000000000000000000000003', 'chk-3');
const fixture = join(root, 'fixtures', 'savepoints', 'v3', 'native-savepoint');
const goldenDir = join(root, 'fixtures', 'golden', 'v3');

if (existsSync(fixture)) {
  console.log(`kept    ${relative(root, fixture)} (fixtures are never rewritten)`);
} else {
  // Streamed, not linked: a hard link between two fixtures would not survive git anyway, and a
  // copy keeps the two fixtures' bytes independent on this disk too.
  const target = new LocalObjectStore(fixture);
  const copying: LocalObjectStore = Object.assign(Object.create(LocalObjectStore.prototype) as LocalObjectStore, target, { copyFrom: async () => undefined });
  const metadata = await writeNativeSavepointOf(new LocalObjectStore(chk3), copying, { checkpointId: 4, createdAt: Date.UTC(2026, 11, 6, 12, 5, 0) });
  if (metadata.formatVersion !== 3 || metadata.type !== 'native') throw new Error('the native savepoint fixture is not a version 3 native savepoint');
  console.log(`written ${relative(root, fixture)}`);
}

const flink = (...args: string[]): string =>
  execFileSync(process.execPath, [join(root, 'bin/flink.js'), ...args], { cwd: root, encoding: 'utf8', env: { ...process.env, NO_COLOR: '1' } });
mkdirSync(goldenDir, { recursive: true });
const rel = relative(root, fixture);
for (const [file, args] of Object.entries({ 'inspect.json': ['inspect', rel, '--json'], 'entries.jsonl': ['inspect', rel, '--entries'], 'inspect.txt': ['inspect', rel] })) {
  const target = join(goldenDir, `native-savepoint.${file}`);
  if (existsSync(target)) continue;
  writeFileSync(target, flink(...args).replaceAll(root, '<root>'));
  console.log(`written ${relative(root, target)}`);
}
