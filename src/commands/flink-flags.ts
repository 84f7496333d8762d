/**
 * Flink's spellings of flags that commander does not read, rewritten to commander's before it
 * parses. Flink's parser (commons-cli's DefaultParser) also takes a long option after a single
 * dash (`stop -drain`, `run -parallelism 2`, `savepoint -type=native`), the unambiguous beginning
 * of a long name (`--parallel 2`, `-detach`), and has short names of more than one letter
 * (`run -cm claim`, `-rm claim`), where commander reads `-drain` as `-d -r -a ...`.
 * Which tokens are rewritten follows from the command's declared options, in commons-cli's order
 * (handleShortAndLongOption), so a short option with its value attached (`-p2`, `-s/sp`) and a
 * cluster of short flags (`-dn`) are left to commander, which reads them as commons-cli does.
 */
import type { Command, Option } from 'commander';
import { UsageError } from '../errors.ts';

/** Flink's short names of more than one letter (`-cm` of `--claimMode`), which commander cannot declare. */
const FLINK_SHORT_NAMES = new WeakMap<Option, string>();
/** Options read as Java properties, `-Dkey=value` (commons-cli: an option of two values). */
const PROPERTY_OPTIONS = new WeakSet<Option>();
/** Commands whose options end at their first argument (commander's passThroughOptions, Flink's stopAtNonOption). */
const OPTIONS_END_AT_FIRST_ARGUMENT = new WeakSet<Command>();

/**
 * tsflink's own long names, which Flink's parser does not have (`--json`, `--define` of `-D`):
 * taken whole only, so that a beginning of a name means what it means in Flink (`stop --d` is
 * --drain, where --define would make it ambiguous).
 */
const WHOLE_NAME_ONLY = new WeakSet<Option>();

/** Declares the option's long name as tsflink's own, which no beginning of a name selects. */
export function wholeNameOnly<T extends Option>(option: T): T {
  WHOLE_NAME_ONLY.add(option);
  return option;
}

/** Declares Flink's short name of more than one letter for this option (`-cm`). */
export function flinkShortName<T extends Option>(option: T, name: string): T {
  FLINK_SHORT_NAMES.set(option, name);
  return option;
}

/** Declares this option as `-Dkey=value`'s, whose `-D` commons-cli reads before any long name. */
export function propertyOption<T extends Option>(option: T): T {
  PROPERTY_OPTIONS.add(option);
  return option;
}

/** Makes everything after the command's first argument its job's own arguments, left as typed. */
export function optionsEndAtFirstArgument(command: Command): Command {
  OPTIONS_END_AT_FIRST_ARGUMENT.add(command);
  return command.passThroughOptions();
}

export interface NormalizedFlags {
  /** The arguments as commander is to parse them. */
  readonly argv: string[];
  /**
   * Each flag commander parses (`--claimMode`, `-D`) by its spelling as typed (`-cm`, `-claimMode`;
   * the last one of a flag given twice, whose value commander keeps): a message about a flag
   * names the flag that was typed.
   */
  readonly spellings: ReadonlyMap<string, string>;
}

/** What an option does with the word after it: `value` takes it whatever it is, `optional-value` only when it is no option. */
type NextWord = 'value' | 'optional-value' | 'none';

export function normalizeFlinkFlags(argv: readonly string[], program: Command): NormalizedFlags {
  const spellings = new Map<string, string>();
  const command = program.commands.find((c) => c.name() === argv[0]);
  if (command === undefined) return { argv: [...argv], spellings };
  const declared = declaredOptions(command);
  const endAtArgument = OPTIONS_END_AT_FIRST_ARGUMENT.has(command);
  const out = [argv[0] as string];
  let rest: readonly string[] = [];
  for (let i = 1; i < argv.length; i++) {
    const token = argv[i] as string;
    if (token === '--') {
      rest = argv.slice(i); // commander's end of options too
      break;
    }
    if (!token.startsWith('-') || token === '-') {
      out.push(token);
      if (endAtArgument) {
        rest = argv.slice(i + 1);
        break;
      }
      continue;
    }
    const rewritten = token.startsWith('--') ? rewriteLong(token, token.slice(2), declared) : rewriteSingleDash(token, declared);
    out.push(rewritten.flag);
    spellings.set(nameOf(rewritten.flag), nameOf(token));
    // The value of an option is never read as an option (`-s -rm`): commander takes it as the
    // value, where commons-cli would say the value is missing.
    const next = argv[i + 1];
    if (next !== undefined && (rewritten.next === 'value' || (rewritten.next === 'optional-value' && !next.startsWith('-')))) {
      out.push(next);
      i++;
    }
  }
  return { argv: [...out, ...rest], spellings };
}

function nameOf(flag: string): string {
  const eq = flag.indexOf('=');
  return eq === -1 ? flag : flag.slice(0, eq);
}

interface Declared {
  /** By short name without its dash, Flink's longer ones (`cm`) included. */
  readonly short: ReadonlyMap<string, Option>;
  /** By long name without its dashes. */
  readonly long: ReadonlyMap<string, Option>;
}

function declaredOptions(command: Command): Declared {
  const short = new Map<string, Option>();
  const long = new Map<string, Option>();
  // visibleOptions adds commander's own -h, --help, as Flink has it in every action.
  for (const option of [...command.options, ...command.createHelp().visibleOptions(command)]) {
    if (option.short !== undefined) short.set(option.short.slice(1), option);
    const flinkShort = FLINK_SHORT_NAMES.get(option);
    if (flinkShort !== undefined) short.set(flinkShort, option);
    if (option.long !== undefined) long.set(option.long.slice(2), option);
  }
  return { short, long };
}

function takesValue(option: Option): boolean {
  return option.required || option.optional;
}

function nextWordOf(option: Option | undefined): NextWord {
  return option === undefined ? 'none' : option.required ? 'value' : option.optional ? 'optional-value' : 'none';
}

/**
 * The long option a name selects, as commons-cli's Options.getMatchingOptions finds it: the one
 * of that whole name, else the one whose name begins so; undefined for none. Several are
 * commons-cli's AmbiguousOptionException, in its words, naming the option as typed.
 */
function matchLong(name: string, typed: string, declared: Declared): Option | undefined {
  const whole = declared.long.get(name);
  if (whole !== undefined) return whole;
  const matching = [...declared.long].filter(([long, option]) => long.startsWith(name) && !WHOLE_NAME_ONLY.has(option));
  if (matching.length > 1) throw new UsageError(`Ambiguous option: '${typed}'  (could be: ${matching.map(([long]) => `'${long}'`).join(', ')})`);
  return matching[0]?.[1];
}

/**
 * `--L`, `--L=V` and (after one dash, from rewriteSingleDash) `-L`, `-L=V`, L a name or its
 * beginning: commons-cli's handleLongOptionWithoutEqual and handleLongOptionWithEqual.
 */
function rewriteLong(token: string, t: string, declared: Declared): { flag: string; next: NextWord } {
  const eq = t.indexOf('=');
  const name = eq === -1 ? t : t.slice(0, eq);
  const option = matchLong(name, token.slice(0, token.length - t.length + name.length), declared);
  if (option === undefined) return { flag: token, next: 'none' }; // commander refuses it, as commons-cli does
  if (eq === -1) return { flag: commanderFlag(option), next: nextWordOf(option) };
  // A flag given a value is left for commander to refuse, as commons-cli refuses it.
  return takesValue(option) ? { flag: `${commanderFlag(option)}=${t.slice(eq + 1)}`, next: 'none' } : { flag: token, next: 'none' };
}

/** The option as commander names it: its long form, which every option of tsflink has. */
function commanderFlag(option: Option): string {
  return option.long ?? option.short ?? '';
}

/** A token of one dash, read in the order of commons-cli's DefaultParser.handleShortAndLongOption. */
function rewriteSingleDash(token: string, declared: Declared): { flag: string; next: NextWord } {
  const t = token.slice(1);
  const eq = t.indexOf('=');
  if (t.length === 1) return { flag: token, next: nextWordOf(declared.short.get(t)) }; // -S
  if (eq === -1) {
    const short = declared.short.get(t); // -S of several letters: -cm
    if (short !== undefined) return { flag: commanderFlag(short), next: nextWordOf(short) };
    const long = matchLong(t, token, declared); // -L, or the beginning of one
    if (long !== undefined) return { flag: commanderFlag(long), next: nextWordOf(long) };
    // -LV, a long name with its value attached (commons-cli's getLongPrefix, -Xmx512m). It tries
    // prefixes from two letters shorter than the name down to two letters, so a one-letter value
    // is never split off: `-parallelism16` is --parallelism 16, `-parallelism8` is -p arallelism8.
    for (let end = t.length - 2; end > 1; end--) {
      const prefixed = declared.long.get(t.slice(0, end));
      if (prefixed === undefined) continue;
      if (takesValue(prefixed)) return { flag: `${commanderFlag(prefixed)}=${t.slice(end)}`, next: 'none' };
      break;
    }
    // -Dkey and -S1S2, -SV: commander reads them as commons-cli does.
    return { flag: token, next: nextWordOfCluster(t, declared) };
  }
  const name = t.slice(0, eq);
  const value = t.slice(eq + 1);
  if (name.length === 1) {
    // -S=V: the value without its `=`, which commander would keep.
    const option = declared.short.get(name);
    return option !== undefined && takesValue(option) ? { flag: `${commanderFlag(option)}=${value}`, next: 'none' } : { flag: token, next: 'none' };
  }
  const property = declared.short.get(name.charAt(0));
  if (property !== undefined && PROPERTY_OPTIONS.has(property)) return { flag: token, next: 'none' }; // -Dkey=value, commander's too
  return rewriteLong(token, t, declared); // -L=V
}

/** `-dp`: the flags of a cluster up to the first that takes a value, whose value is the rest of the token or else the next word. */
function nextWordOfCluster(t: string, declared: Declared): NextWord {
  for (let i = 0; i < t.length; i++) {
    const option = declared.short.get(t.charAt(i));
    if (option === undefined) return 'none'; // commander refuses it
    if (takesValue(option)) return i === t.length - 1 ? nextWordOf(option) : 'none';
  }
  return 'none';
}
