/**
 * The `flink` program: declares the commands and their flags, loads each command's module only
 * when it runs, and is the one place where errors become exit codes and one-line messages.
 */
import { Command, CommanderError, InvalidArgumentError, Option } from 'commander';
import { type Config, parseDefines } from './config.ts';
import { ExitCode, describeError, exitCodeFor } from './errors.ts';
import { type CliContext, processContext } from './output/context.ts';

export interface CommonOptions {
  readonly json?: boolean;
  readonly verbose?: boolean;
  readonly define: string[];
}

/** What every command gets besides its own arguments. */
export interface CommandEnv {
  readonly ctx: CliContext;
  readonly config: Config;
}

function collect(value: string, previous: string[]): string[] {
  return [...previous, value];
}

function common(cmd: Command): Command {
  return cmd
    .option('--json', 'print one JSON document (or JSON lines) for scripts')
    .option('-D, --define <key=value>', 'set a configuration key, e.g. -D s3.endpoint=http://127.0.0.1:9000', collect, [])
    .option('-v, --verbose', 'show stack traces of errors');
}

export async function main(argv: readonly string[], ctx: CliContext = processContext()): Promise<number> {
  let verbose = argv.includes('--verbose') || argv.includes('-v') || (ctx.env.DEBUG ?? '') !== '';
  let exitCode: number = ExitCode.ok;
  const envFor = (options: CommonOptions): CommandEnv => {
    verbose ||= options.verbose === true;
    return { ctx, config: parseDefines(options.define, (m) => ctx.stderr.write(`${m}\n`)) };
  };

  const program = new Command('flink')
    .description('tsflink: stateful stream processing for Node.js, with Flink-style checkpoints and savepoints')
    .version('0.1.0', '--version')
    .exitOverride()
    .configureOutput({ writeOut: (s) => ctx.stdout.write(s), writeErr: (s) => ctx.stderr.write(s) })
    .showHelpAfterError('(run with --help for usage)');

  common(program.command('inspect'))
    .description('show what a checkpoint or savepoint holds (reads _metadata only, unless entries are asked for)')
    .argument('<path>', 'snapshot directory or its _metadata, local or s3://bucket/path')
    .option('--operator <uid>', 'only this operator')
    .option('--state <name>', 'only this state')
    .option('--entries', 'print state entries as JSON lines')
    .option('--keys', 'print keys only, as JSON lines')
    .option('--key <json>', 'print the entry of one key (JSON, e.g. \'"user-1"\'), reading only its key group')
    .addOption(new Option('--limit <n>', 'print at most n entries').argParser(parseCount))
    .action(async (path: string, options) => {
      const { runInspect } = await import('./commands/inspect.ts');
      exitCode = await runInspect(path, options, envFor(options));
    });

  common(program.command('diff'))
    .description('compare two snapshots: operators and states added, removed, changed (exit 0 equal, 1 different, 2 error)')
    .argument('<a>', 'first snapshot')
    .argument('<b>', 'second snapshot')
    .option('--entries', 'also compare keys and values of every state present in both')
    .addOption(new Option('--limit <n>', 'list at most n changed keys per state').argParser(parseCount))
    .action(async (a: string, b: string, options) => {
      const { runDiff } = await import('./commands/diff.ts');
      exitCode = await runDiff(a, b, options, envFor(options));
    });

  common(program.command('verify'))
    .description('read every byte of a snapshot and check every checksum, size and reference (exit 0 valid, 1 corrupt, 2 error)')
    .argument('<path>', 'snapshot directory or its _metadata, local or s3://bucket/path')
    .action(async (path: string, options) => {
      const { runVerify } = await import('./commands/verify.ts');
      exitCode = await runVerify(path, options, envFor(options));
    });

  try {
    await program.parseAsync([...argv], { from: 'user' });
    return exitCode;
  } catch (err) {
    if (err instanceof CommanderError) {
      // Help and version end through here too, with exit code 0.
      return err.exitCode === 0 ? ExitCode.ok : ExitCode.error;
    }
    ctx.stderr.write(`${describeError(err)}\n`);
    if (verbose && err instanceof Error && err.stack !== undefined) ctx.stderr.write(`${err.stack}\n`);
    return exitCodeFor(err);
  }
}

function parseCount(value: string): number {
  const n = Number(value);
  if (!Number.isSafeInteger(n) || n < 0 || value.trim() === '') throw new InvalidArgumentError('expected a whole number >= 0.');
  return n;
}
