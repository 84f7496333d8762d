/**
 * The progress line of the file tools, through the real binary on a real terminal (a pty made by
 * util-linux `script`): drawn on stderr and cleared before the result, never with --json, never
 * when stderr is not a terminal, and for inspect --entries only when the entries go to a file.
 */
import { execFile } from 'node:child_process';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { ROOT, runFlink } from './support/run-flink.ts';
import { tempDirForFile } from './support/temp-dir.ts';

const dirs = tempDirForFile('tsflink-progress-');
const ALL_KINDS = join('fixtures', 'savepoints', 'v1', 'all-kinds');
const CHECKPOINT = join('fixtures', 'savepoints', 'v1', 'checkpoint-p3');

/** Runs `flink <args>` (a shell command line) with stdin, stdout and stderr on one pty. */
function onTerminal(args: string): Promise<{ code: number; output: string }> {
  return new Promise((resolve, reject) => {
    execFile('script', ['-qfec', `${process.execPath} bin/flink.js ${args}`, '/dev/null'], { cwd: ROOT, env: { ...process.env, NO_COLOR: '1', DEBUG: '' } }, (error, stdout) => {
      if (error !== null && typeof error.code !== 'number') {
        reject(new Error(`cannot run util-linux script(1) to get a terminal: ${error.message}`));
        return;
      }
      resolve({ code: error === null ? 0 : (error.code as number), output: stdout });
    });
  });
}

/**
 * Each progress line becomes `[<label> progress]` (its figures depend on the clock; redraws of
 * one label count once), each clearing `[clear]`, the pty's CR LF a LF.
 */
function normalise(output: string, target = '\0'): string {
  return output
    .replace(/\r\x1b\[2K(\w+): \d[\d,]*\/[\d,]+ entries, [^\r]*/g, '[$1 progress]')
    .replace(/(\[(\w+) progress\])+/g, '[$2 progress]')
    .replaceAll('\r\x1b[2K', '[clear]')
    .replaceAll('\r\n', '\n')
    .replaceAll(target, '<target>')
    .replaceAll(ROOT, '<root>');
}

describe('progress on a terminal', () => {
  it('verify draws its line, then clears it before the result', async () => {
    const { code, output } = await onTerminal(`verify ${ALL_KINDS}`);
    expect(code).toBe(0);
    expect(normalise(output)).toBe(
      '[verify progress][clear]OK <root>/fixtures/savepoints/v1/all-kinds: savepoint in format version 1; checked 7 data file(s), 119 block(s), 134 entries, 7.1 KiB.\n',
    );
  });

  it('rekey shows its work, then the verification of the result', async () => {
    const target = dirs.next('rekeyed');
    const { code, output } = await onTerminal(`rekey ${CHECKPOINT} ${target} --max-parallelism 64`);
    expect(code).toBe(0);
    expect(normalise(output, target)).toBe(
      '[rekey progress][clear][verify progress][clear]' +
        'Rekeyed <root>/fixtures/savepoints/v1/checkpoint-p3: max parallelism 512 -> 64; 600 keyed entries, 3 operator-state elements, 2 operators.\n' +
        'Savepoint completed and verified. Path: <target>\n',
    );
  });

  it('diff --entries draws it; diff without --entries reads no entries and draws none', async () => {
    const withEntries = await onTerminal(`diff --entries ${ALL_KINDS} ${ALL_KINDS}`);
    expect(normalise(withEntries.output)).toMatch(/^\[diff progress\]\[clear\]--- a: /);
    expect(withEntries.code).toBe(0);
    const plain = await onTerminal(`diff ${ALL_KINDS} ${ALL_KINDS}`);
    expect(plain.output).not.toContain('\x1b[2K');
  });

  it('inspect --entries draws it only when the entries go to a file', async () => {
    const file = join(dirs.next('entries'));
    const toFile = await onTerminal(`inspect ${ALL_KINDS} --entries > ${file}`);
    expect(normalise(toFile.output)).toBe('[inspect progress][clear]');
    expect(await readFile(file, 'utf8')).toBe(await readFile(join(ROOT, 'fixtures', 'golden', 'v1', 'all-kinds.entries.jsonl'), 'utf8'));
    const toTerminal = await onTerminal(`inspect ${ALL_KINDS} --entries --limit 1`);
    expect(toTerminal.output).not.toContain('\x1b[2K');
  });

  it('draws nothing with --json', async () => {
    for (const args of [`verify ${ALL_KINDS} --json`, `diff --entries ${ALL_KINDS} ${ALL_KINDS} --json`, `rekey ${CHECKPOINT} ${dirs.next('json')} --max-parallelism 64 --json`]) {
      const { code, output } = await onTerminal(args);
      expect(code, args).toBe(0);
      expect(output, args).not.toContain('\x1b[2K');
    }
  });

  it('draws nothing when stderr is not a terminal', async () => {
    for (const args of [['verify', ALL_KINDS], ['diff', '--entries', ALL_KINDS, CHECKPOINT], ['rekey', CHECKPOINT, dirs.next('plain'), '--max-parallelism', '64']]) {
      const result = await runFlink(args);
      expect(result.stderr, args.join(' ')).toBe('');
    }
  });
});
