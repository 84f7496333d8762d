import { Command, Option } from 'commander';
import { describe, expect, it } from 'vitest';
import { flinkShortName, normalizeFlinkFlags, optionsEndAtFirstArgument, propertyOption, wholeNameOnly } from './flink-flags.ts';

/** Options as cli.ts declares them, the kinds that matter here: flags, values, an optional value, -D, a Flink short name of two letters, names Flink lacks. */
function program(): Command {
  const p = new Command('flink').enablePositionalOptions();
  const common = (c: Command): Command =>
    c
      .addOption(wholeNameOnly(new Option('--json')))
      .addOption(wholeNameOnly(propertyOption(new Option('-D, --define <key=value>'))))
      .option('-v, --verbose');
  optionsEndAtFirstArgument(common(p.command('run')))
    .option('-d, --detached')
    .option('-p, --parallelism <n>')
    .option('-s, --fromSavepoint <path>')
    .option('-n, --allowNonRestoredState')
    .addOption(flinkShortName(new Option('--claimMode <mode>'), 'cm'))
    .addOption(flinkShortName(new Option('--restoreMode <mode>').hideHelp(), 'rm'))
    .argument('<jobFile>')
    .argument('[args...]');
  common(p.command('stop')).option('-p, --savepointPath [dir]').option('-d, --drain').option('--type <type>').option('-t, --target <target>').argument('[jobId]');
  common(p.command('savepoint'))
    .option('-d, --dispose <path>')
    .addOption(wholeNameOnly(flinkShortName(new Option('--detached'), 'detached')))
    .option('--type <type>')
    .argument('[jobId]');
  common(p.command('checkpoint')).option('--full').argument('[jobId]');
  return p;
}

const JOB = 'a'.repeat(32);

describe('normalizeFlinkFlags', () => {
  it.each([
    // A long name after one dash, as commons-cli reads it.
    [['stop', '-drain', '-savepointPath', '/sp', JOB], ['stop', '--drain', '--savepointPath', '/sp', JOB]],
    [['savepoint', '-type', 'native', '-detached', JOB], ['savepoint', '--type', 'native', '--detached', JOB]],
    [['checkpoint', JOB, '-full'], ['checkpoint', JOB, '--full']],
    [['run', '-detached', '-parallelism', '2', '-fromSavepoint', '/sp', '-allowNonRestoredState', '-claimMode', 'claim', 'job.ts'], ['run', '--detached', '--parallelism', '2', '--fromSavepoint', '/sp', '--allowNonRestoredState', '--claimMode', 'claim', 'job.ts']],
    [['run', '-help'], ['run', '--help']],
    // -L=V; a flag given a value is left for commander to refuse, as commons-cli refuses it.
    [['savepoint', '-type=native', JOB], ['savepoint', '--type=native', JOB]],
    [['stop', '-savepointPath=/sp', JOB], ['stop', '--savepointPath=/sp', JOB]],
    [['stop', '-drain=yes', JOB], ['stop', '-drain=yes', JOB]],
    // Flink's short names of two letters, whole only.
    [['run', '-cm', 'claim', '-rm', 'no_claim', 'job.ts'], ['run', '--claimMode', 'claim', '--restoreMode', 'no_claim', 'job.ts']],
    [['run', '-cm=claim', 'job.ts'], ['run', '-cm=claim', 'job.ts']],
    // -S=V: the value without its `=`.
    [['run', '-p=2', 'job.ts'], ['run', '--parallelism=2', 'job.ts']],
    [['run', '-D=a=b', 'job.ts'], ['run', '--define=a=b', 'job.ts']],
    [['stop', '-d=x', JOB], ['stop', '-d=x', JOB]],
    // A short option with its value attached, clusters and -D: commander's, as they are commons-cli's.
    [['run', '-p2', '-ssomewhere', '-dn', 'job.ts'], ['run', '-p2', '-ssomewhere', '-dn', 'job.ts']],
    [['run', '-Da=b', '-D', 'c=d', '-Dkey', 'job.ts'], ['run', '-Da=b', '-D', 'c=d', '-Dkey', 'job.ts']],
    [['stop', '-dp', '-type', 'native', JOB], ['stop', '-dp', '--type', 'native', JOB]],
    // The beginning of a long name, after two dashes or one (commons-cli's partial matching), before -LV and clusters.
    [['run', '--parallel', '2', '--det', '--from=/sp', '--allow', 'job.ts'], ['run', '--parallelism', '2', '--detached', '--fromSavepoint=/sp', '--allowNonRestoredState', 'job.ts']],
    [['run', '-detach', '-parallel', '2', '-fromS', '/sp', '-cl', 'claim', '-re=claim', 'job.ts'], ['run', '--detached', '--parallelism', '2', '--fromSavepoint', '/sp', '--claimMode', 'claim', '--restoreMode=claim', 'job.ts']],
    [['stop', '--dr', '--savepoint', '--ty', 'native', '--ta=remote', '-ver', JOB], ['stop', '--drain', '--savepointPath', '--type', 'native', '--target=remote', '--verbose', JOB]],
    [['stop', '-sav', '/sp', '-ty=native', '-ta', 'remote', JOB], ['stop', '--savepointPath', '/sp', '--type=native', '--target', 'remote', JOB]],
    [['checkpoint', '--f', '-fu', JOB], ['checkpoint', '--full', '--full', JOB]],
    [['run', '--h'], ['run', '--help']],
    // A beginning of a name Flink lacks selects nothing: `--d` is --drain, not also --define, and -de is -d e.
    [['stop', '--d', '--js', '--def', 'a=b', JOB], ['stop', '--drain', '--js', '--def', 'a=b', JOB]],
    [['stop', '--define', 'a=b', '-json', '--json', JOB], ['stop', '--define', 'a=b', '--json', '--json', JOB]],
    [['savepoint', '-detached', '--detached', '-de', JOB], ['savepoint', '--detached', '--detached', '-de', JOB]],
    [['savepoint', '--det', '-detach', '--d', '/sp'], ['savepoint', '--det', '-detach', '--dispose', '/sp']],
    // -S=V is the short option's, before any beginning of a long name.
    [['stop', JOB, '-t=remote', '-d=x'], ['stop', JOB, '--target=remote', '-d=x']],
    // A beginning of a flag given a value, and what begins no name, are left for commander to refuse.
    [['stop', '--dr=yes', '--x', '-xyz', JOB], ['stop', '--dr=yes', '--x', '-xyz', JOB]],
    // -LV, commons-cli's getLongPrefix: a prefix at most two letters shorter than the token.
    [['run', '-parallelism16', 'job.ts'], ['run', '--parallelism=16', 'job.ts']],
    [['run', '-parallelism8', 'job.ts'], ['run', '-parallelism8', 'job.ts']],
    [['stop', '-savepointPath/sp', JOB], ['stop', '--savepointPath=/sp', JOB]],
    [['stop', '-drainxx', JOB], ['stop', '-drainxx', JOB]],
    // The value of an option is its value, whatever it looks like; an optional one only when it is no option.
    [['run', '-D', '-detached', '-s', '-rm', '-p', '-parallelism', 'job.ts'], ['run', '-D', '-detached', '-s', '-rm', '-p', '-parallelism', 'job.ts']],
    [['run', '-dp', '-drain', 'job.ts'], ['run', '-dp', '-drain', 'job.ts']],
    [['stop', '-p', '-drain', JOB], ['stop', '-p', '--drain', JOB]],
    [['stop', '-savepointPath', '-drain', JOB], ['stop', '--savepointPath', '--drain', JOB]],
    [['savepoint', '-dispose', '-type'], ['savepoint', '--dispose', '-type']],
    // After run's job file everything is the job's; elsewhere options come anywhere, until `--`.
    [['run', '-p', '2', 'job.ts', '-rm', 'x', '-detached'], ['run', '-p', '2', 'job.ts', '-rm', 'x', '-detached']],
    [['stop', JOB, '-drain', '--', '-type'], ['stop', JOB, '--drain', '--', '-type']],
    [['run', '--', '-detached'], ['run', '--', '-detached']],
    // Names of another command, and unknown ones, are left for commander to refuse.
    [['savepoint', '-rm', 'x', '-drain'], ['savepoint', '-rm', 'x', '-drain']],
    [['checkpoint', '-target', 'local'], ['checkpoint', '-target', 'local']],
    [['nothing', '-drain'], ['nothing', '-drain']],
  ])('%j -> %j', (argv, expected) => {
    expect(normalizeFlinkFlags(argv, program()).argv).toEqual(expected);
  });

  it.each([
    // commons-cli's AmbiguousOptionException, as one line: the option as typed, then the names in the order they are declared.
    [['stop', '--t', 'native', JOB], "Ambiguous option: '--t'  (could be: 'type', 'target')"],
    [['stop', '--t=native', JOB], "Ambiguous option: '--t'  (could be: 'type', 'target')"],
    [['savepoint', '--', '--t'], undefined],
  ])('%j: %s', (argv, message) => {
    const parse = (): unknown => normalizeFlinkFlags(argv, program());
    if (message === undefined) expect(parse).not.toThrow();
    else expect(parse).toThrow(expect.objectContaining({ name: 'UsageError', message }));
  });

  it('maps each flag to its spelling as typed, the last one winning', () => {
    const { spellings } = normalizeFlinkFlags(['run', '-rm', 'claim', '--claimMode=no_claim', '-D', 'a=b', '-restoreMode', 'x', '-cm', 'y', '-parallelism=2', 'job.ts', '-claimMode', 'z'], program());
    expect(Object.fromEntries(spellings)).toEqual({ '--restoreMode': '-restoreMode', '--claimMode': '-cm', '-D': '-D', '--parallelism': '-parallelism' });
  });
});
