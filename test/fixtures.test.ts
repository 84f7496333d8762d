/**
 * The golden snapshots of every released format version under fixtures/savepoints/ read forever:
 * `inspect` (text, --json, --entries) through the real binary gives exactly the committed golden
 * output, `verify` passes, and `diff` of two of them is stable.
 */
import { existsSync, readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { ROOT, runFlink } from './support/run-flink.ts';

const versions = readdirSync(join(ROOT, 'fixtures', 'savepoints')).filter((v) => /^v\d+$/.test(v));

const golden = (version: string, file: string): string => readFileSync(join(ROOT, 'fixtures', 'golden', version, file), 'utf8');
const normalise = (text: string): string => text.replaceAll(ROOT, '<root>');

describe.each(versions)('format %s fixtures', (version) => {
  const names = readdirSync(join(ROOT, 'fixtures', 'savepoints', version));
  it('has fixtures', () => {
    expect(names.length).toBeGreaterThan(0);
  });

  // A fixture is a snapshot directory, or (version 3) a checkpoint root holding `<jobId>/chk-<n>`
  // snapshots, each with goldens named `<fixture>.chk-<n>.*`.
  const snapshots = names.flatMap((name): [string, string][] => {
    const dir = join(ROOT, 'fixtures', 'savepoints', version, name);
    if (existsSync(join(dir, '_metadata'))) return [[name, join('fixtures', 'savepoints', version, name)]];
    return readdirSync(dir).flatMap((job) =>
      readdirSync(join(dir, job))
        .filter((d) => d.startsWith('chk-'))
        .map((chk): [string, string] => [`${name}.${chk}`, join('fixtures', 'savepoints', version, name, job, chk)]),
    );
  });

  describe.each(snapshots)('%s', (name, path) => {
    it.each([
      ['inspect.json', ['--json']],
      ['entries.jsonl', ['--entries']],
      ['inspect.txt', []],
    ])('inspect matches %s', async (file, flags) => {
      const result = await runFlink(['inspect', path, ...flags]);
      expect(result.stderr).toBe('');
      expect(result.code).toBe(0);
      expect(normalise(result.stdout)).toBe(golden(version, `${name}.${file}`));
    });

    it('verifies', async () => {
      const result = await runFlink(['verify', path]);
      expect(result.stdout).toMatch(/^OK /);
      expect(result.code).toBe(0);
    });
  });
});

describe('format v1 fixture details', () => {
  const allKinds = join('fixtures', 'savepoints', 'v1', 'all-kinds');

  it('diff of two fixtures is stable and exits 1', async () => {
    const result = await runFlink(['diff', allKinds, join('fixtures', 'savepoints', 'v1', 'checkpoint-p3')]);
    expect(normalise(result.stdout)).toBe(golden('v1', 'diff-all-kinds-checkpoint-p3.txt'));
    expect(result.code).toBe(1);
  });

  it('finds unicode, binary and composite keys by --key, reading one key group', async () => {
    const cases: [string, string][] = [
      ['"€uro ✓"', '"unicode"'],
      ['"emoji 🚀"', '"astral"'],
      ['{"$bytes":"AAEC/w=="}', '"binary"'],
      ['["tenant-1",42]', '"tuple"'],
      ['{"shop":7,"region":"eu"}', '"object"'],
      ['1099511627776', '"large integer"'],
    ];
    for (const [key, value] of cases) {
      const result = await runFlink(['inspect', allKinds, '--operator', 'odd-keys', '--key', key]);
      expect(result.code, key).toBe(0);
      expect(JSON.parse(result.stdout).value, key).toBe(JSON.parse(value));
    }
    const missing = await runFlink(['inspect', allKinds, '--key', '"nobody"']);
    expect(missing.code).toBe(1);
    expect(missing.stderr).toMatch(/^Key "nobody" not found in any keyed state of /);
  });

  it('narrows by operator and state, and limits entries', async () => {
    const keys = await runFlink(['inspect', allKinds, '--operator', 'keyed-everything', '--state', 'recent', '--keys', '--limit', '3']);
    const lines = keys.stdout.trim().split('\n').map((l) => JSON.parse(l));
    expect(lines).toHaveLength(3);
    expect(lines.every((l) => l.operator === 'keyed-everything' && l.state === 'recent' && !('value' in l))).toBe(true);
    const json = JSON.parse((await runFlink(['inspect', allKinds, '--state', 'rules', '--json'])).stdout);
    expect(json.operators.flatMap((o: { states: { name: string }[] }) => o.states.map((s) => s.name))).toEqual(['rules']);
  });
});
