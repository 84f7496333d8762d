/**
 * Flink's spellings of flags that commander cannot declare (it takes one letter after a single
 * dash), rewritten to their `--` forms before parsing. `flink run`: `-rm <mode>` (Flink
 * 1.15-1.20's `--restoreMode`, deprecated in Flink 2) and the single-dash long forms
 * `-claimMode`/`-restoreMode` that Flink's parser also accepts, only among the flags before the
 * job file: what follows the job file is the job's own arguments. `flink checkpoint`: `-full`,
 * the spelling Flink's documentation gives (`flink checkpoint $JOB_ID -full`).
 */

/** Flags of `flink run` that take a value, so the word after them is not the job file. */
const TAKES_VALUE = new Set(['-p', '--parallelism', '-s', '--fromSavepoint', '-m', '--jobmanager', '-D', '--define', '--claimMode', '--restoreMode']);

const SPELLINGS: ReadonlyMap<string, string> = new Map([
  ['-rm', '--restoreMode'],
  ['-restoreMode', '--restoreMode'],
  ['-claimMode', '--claimMode'],
]);

/** Flags of `flink checkpoint` that take a value. */
const CHECKPOINT_TAKES_VALUE = new Set(['-m', '--jobmanager', '-D', '--define']);

export function normalizeFlinkFlags(argv: readonly string[]): string[] {
  if (argv[0] === 'checkpoint') {
    const out = ['checkpoint'];
    for (let i = 1; i < argv.length; i++) {
      const token = argv[i] as string;
      out.push(token === '-full' ? '--full' : token);
      if (CHECKPOINT_TAKES_VALUE.has(token) && i + 1 < argv.length) out.push(argv[++i] as string);
    }
    return out;
  }
  return normalizeRun(argv).argv;
}

/**
 * `flink run`'s flags before the job file, as the user spelled them, by the `--` form commander
 * parses (`--restoreMode` -> `-rm` when given as `-rm`; the last spelling of a flag given twice,
 * whose value commander keeps): so that a message about a flag names the flag that was typed.
 */
export function runFlagSpellings(argv: readonly string[]): ReadonlyMap<string, string> {
  return normalizeRun(argv).spellings;
}

function normalizeRun(argv: readonly string[]): { argv: string[]; spellings: Map<string, string> } {
  const spellings = new Map<string, string>();
  if (argv[0] !== 'run') return { argv: [...argv], spellings };
  const out = ['run'];
  let i = 1;
  for (; i < argv.length; i++) {
    const token = argv[i] as string;
    const flag = SPELLINGS.get(token) ?? token;
    out.push(flag);
    if (!flag.startsWith('-')) break; // the job file
    spellings.set(flag.split('=')[0]!, token.split('=')[0]!); // `--claimMode=claim` is commander's too
    if (TAKES_VALUE.has(flag) && i + 1 < argv.length) out.push(argv[++i] as string);
  }
  return { argv: [...out, ...argv.slice(i + 1)], spellings };
}
