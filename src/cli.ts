/**
 * The `flink` program: declares the commands and their flags, loads each command's module only
 * when it runs, and is the one place where errors become exit codes and one-line messages.
 */
import { Argument, Command, CommanderError, InvalidArgumentError, Option } from 'commander';
import { flinkShortName, normalizeFlinkFlags, optionsEndAtFirstArgument, propertyOption, wholeNameOnly } from './commands/flink-flags.ts';
import { type Config, loadConfig } from './config.ts';
import { isRemoteTarget, unsupportedTargetReason } from './engine/cluster/deployment-target.ts';
import { ExitCode, UsageError, describeError, exitCodeFor } from './errors.ts';
import { type CliContext, processContext } from './output/context.ts';
import { VERSION, revision } from './version.ts';

export interface CommonOptions {
  readonly json?: boolean;
  readonly verbose?: boolean;
  readonly define: string[];
}

/** Options of every command that talks to a cluster. */
export interface ClusterOptions extends CommonOptions {
  /** `-m host:port`: the JobManager's REST address (default rest.address:rest.port). */
  readonly jobmanager?: string;
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
    // Names Flink lacks, whole only: a beginning of a name selects what it selects in Flink.
    .addOption(wholeNameOnly(new Option('--json', 'print one JSON document (or JSON lines) for scripts')))
    .addOption(wholeNameOnly(propertyOption(new Option('-D, --define <key=value>', 'set a configuration key, e.g. -D s3.endpoint=http://127.0.0.1:9000').argParser(collect).default([]))))
    .option('-v, --verbose', 'show stack traces of errors');
}

export async function main(argv: readonly string[], ctx: CliContext = processContext()): Promise<number> {
  // Set as commander parses a command's own -v (below), not by scanning argv: after a job file,
  // `-v` is one of the job's arguments.
  let verbose = (ctx.env.DEBUG ?? '') !== '';
  let exitCode: number = ExitCode.ok;
  // The flags as typed, for messages that name one; set once the command's flags are known (below).
  let typedFlags: ReadonlyMap<string, string> = new Map();
  const envFor = (options: CommonOptions): CommandEnv => {
    verbose ||= options.verbose === true;
    return { ctx, config: loadConfig({ defines: options.define, env: ctx.env, cwd: ctx.cwd ?? process.cwd(), warn: (m) => ctx.stderr.write(`${m}\n`) }) };
  };

  const program = new Command('flink')
    .enablePositionalOptions()
    .description('tsflink: stateful stream processing for Node.js, with Flink-style checkpoints and savepoints')
    // Printed as commander parses the program's own --version (below), not by scanning argv: after
    // a job file, `--version` is one of the job's arguments, and the commit is looked up (git) only when asked for.
    .addOption(new Option('--version', 'output the version number'))
    .exitOverride()
    .configureOutput({ writeOut: (s) => ctx.stdout.write(s), writeErr: (s) => ctx.stderr.write(s) })
    .showHelpAfterError('(run with --help for usage)');

  common(program.command('inspect'))
    .description('show what a checkpoint or savepoint holds (reads _metadata and stats its data files, unless entries are asked for)')
    .argument('<path>', 'snapshot directory or its _metadata, local or s3://bucket/path (tsflink or Apache Flink)')
    .option('--operator <uid>', 'only this operator (of an Apache Flink snapshot: its id or uid)')
    .option('--state <name>', 'only this state')
    .option('--entries', 'print state entries as JSON lines')
    .option('--keys', 'print keys only, as JSON lines')
    .option('--key <json>', 'print the entry of one key (JSON, e.g. \'"user-1"\'), reading only its key group')
    .addOption(new Option('--limit <n>', 'print at most n entries').argParser(parseCount))
    .option('--uid <name>', 'Apache Flink snapshot: name the operator whose id is murmur3_128 of this uid (repeatable)', collect, [])
    .action(async (path: string, options) => {
      const { runInspect } = await import('./commands/inspect.ts');
      exitCode = await runInspect(path, options, envFor(options));
    });

  common(program.command('diff'))
    .description('compare two snapshots (tsflink or Apache Flink): operators and states added, removed, changed (exit 0 equal, 1 different, 2 error)')
    .argument('<a>', 'first snapshot')
    .argument('<b>', 'second snapshot')
    .option('--entries', 'also compare keys and values of every state present in both')
    .option('--schema', "compare only the states' schemas (kind, mode, schema version, TTL), per state")
    .addOption(new Option('--limit <n>', 'list at most n changed keys per state').argParser(parseCount))
    .option('--uid <name>', 'Apache Flink snapshots: name the operator whose id is murmur3_128 of this uid (repeatable)', collect, [])
    .action(async (a: string, b: string, options) => {
      const { runDiff } = await import('./commands/diff.ts');
      exitCode = await runDiff(a, b, options, envFor(options));
    });

  common(program.command('rekey'))
    .description('write a snapshot\'s state as a new savepoint with another max parallelism (number of key groups), verified (exit 0 done, 2 error)')
    .argument('<snapshot>', 'snapshot directory or its _metadata, local or s3://bucket/path')
    .argument('<target>', 'directory of the new savepoint, which must not exist yet (local or s3://)')
    .requiredOption('--max-parallelism <n>', 'the new max parallelism, 1 to 32768 and at least every operator\'s parallelism', parseCount)
    .addOption(new Option('--memory <size>', 'memory for regrouping entries; larger state spills to temporary files in TMPDIR (default 256m; e.g. 64m, 2g)').argParser(parseMemorySize))
    .action(async (snapshot: string, target: string, options) => {
      const { runRekey } = await import('./commands/rekey.ts');
      exitCode = await runRekey(snapshot, target, options, envFor(options));
    });

  common(program.command('verify'))
    .description('read every byte of a snapshot and check every checksum, size and reference (exit 0 valid, 1 corrupt, 2 error)')
    .argument('<path>', 'snapshot directory or its _metadata, local or s3://bucket/path')
    .action(async (path: string, options) => {
      const { runVerify } = await import('./commands/verify.ts');
      exitCode = await runVerify(path, options, envFor(options));
    });

  common(program.command('gc'))
    .description('delete what is safe to delete in a checkpoint directory: abandoned and damaged checkpoints, retained ones beyond --keep/--older-than, unreferenced shared files (never savepoints)')
    .argument('<checkpoint-dir>', 'the checkpoint directory (execution.checkpointing.dir), local or s3://bucket/path')
    .option('--dry-run', 'list what would be deleted and its bytes, delete nothing')
    .addOption(new Option('--keep <n>', "keep each job's newest n complete checkpoints").argParser(parseCount))
    .option('--older-than <duration>', 'delete complete checkpoints older than this (Flink duration: 30 min, 2 h, 7 d)')
    .option('-m, --jobmanager <host:port>', 'the JobManager to ask what running jobs still need (default: rest.address:rest.port)')
    .action(async (dir: string, options) => {
      const { runGc } = await import('./commands/gc.ts');
      exitCode = await runGc(dir, options, envFor(options));
    });

  const clusterCommand = (name: string): Command => common(program.command(name)).option('-m, --jobmanager <host:port>', 'address of the JobManager to connect to (default: rest.address:rest.port, 127.0.0.1:8081)');

  optionsEndAtFirstArgument(refuseFlinkOptions(clusterCommand('run'), [...PROGRAM_OPTIONS_REFUSED, ...RUN_ONLY_REFUSED, ZOOKEEPER_NAMESPACE_REFUSED]))
    .description('submit a job to the cluster (starting a local cluster if none answers) and, unless detached, follow it to its end')
    .argument('<jobFile>', 'the job module: export default (env, args) => { ... }')
    .argument('[args...]', "the job's own arguments")
    .option('-d, --detached', 'submit and return; the job keeps running on the cluster')
    .addOption(new Option('-p, --parallelism <n>', 'default parallelism of the job (overrides parallelism.default)').argParser(parseParallelism))
    .option('-s, --fromSavepoint <path>', 'start from this savepoint or retained checkpoint (its directory or _metadata; local or s3://)')
    .option('-n, --allowNonRestoredState', 'allow skipping state of the snapshot that maps to no operator of the job')
    .addOption(flinkShortName(new Option('--claimMode <mode>', 'who owns the snapshot given with -s: claim (the job deletes it once newer checkpoints subsume it) or no_claim (never touched); also -cm').choices(['claim', 'no_claim', 'CLAIM', 'NO_CLAIM']), 'cm'))
    .addOption(flinkShortName(new Option('--restoreMode <mode>', 'deprecated name of --claimMode').choices(['claim', 'no_claim', 'CLAIM', 'NO_CLAIM']).hideHelp(), 'rm'))
    .addOption(targetOption())
    .addOption(executorOption())
    .action(async (jobFile: string, args: string[], options) => {
      const { runRun } = await import('./commands/run.ts');
      exitCode = await runRun(jobFile, args, { ...options, typedFlags }, envFor(options));
    });

  optionsEndAtFirstArgument(common(program.command('plan-restore')))
    .description('dry run of `flink run -s`: what the restore would match, drop and read, and the error it would give (exit 0 it would succeed, 1 it would not)')
    .argument('<snapshot>', 'savepoint or retained checkpoint (its directory or _metadata; local or s3://)')
    .argument('<jobFile>', 'the job module: export default (env, args) => { ... }')
    .argument('[args...]', "the job's own arguments")
    .addOption(new Option('-p, --parallelism <n>', 'default parallelism of the job (overrides parallelism.default)').argParser(parseParallelism))
    .option('-n, --allowNonRestoredState', 'allow skipping state of the snapshot that maps to no operator of the job')
    .action(async (snapshot: string, jobFile: string, args: string[], options) => {
      const { runPlanRestore } = await import('./commands/plan-restore.ts');
      exitCode = await runPlanRestore(snapshot, jobFile, args, options, envFor(options));
    });

  optionsEndAtFirstArgument(refuseFlinkOptions(common(program.command('info')), [...PROGRAM_OPTIONS_REFUSED, ...INFO_ONLY_REFUSED]))
    .description("print the job's execution plan as JSON (builds the job, runs nothing)")
    .argument('<jobFile>', 'the job module: export default (env, args) => { ... }')
    .argument('[args...]', "the job's own arguments")
    .addOption(new Option('-p, --parallelism <n>', 'default parallelism of the job (overrides parallelism.default)').argParser(parseParallelism))
    .action(async (jobFile: string, args: string[], options) => {
      const { runInfo } = await import('./commands/info.ts');
      exitCode = await runInfo(jobFile, args, options, envFor(options));
    });

  refuseFlinkOptions(clusterCommand('list'), [ZOOKEEPER_NAMESPACE_REFUSED])
    .description('list the jobs of the cluster (running and scheduled by default)')
    .option('-r, --running', 'only running and restarting jobs')
    .option('-s, --scheduled', 'only scheduled jobs')
    .option('-a, --all', 'all jobs, finished ones included')
    .addOption(targetOption())
    .addOption(executorOption())
    .action(async (options) => {
      const { runList } = await import('./commands/list.ts');
      exitCode = await runList(options, envFor(options));
    });

  refuseFlinkOptions(clusterCommand('savepoint'), [ZOOKEEPER_NAMESPACE_REFUSED, SAVEPOINT_JARFILE_REFUSED])
    .description('take a savepoint of a running job, or dispose of one (-d)')
    .argument('[jobId]', 'the job to take a savepoint of')
    .argument('[targetDirectory]', 'where to write it (default: execution.checkpointing.savepoint-dir)')
    .option('-d, --dispose <savepointPath>', 'delete this savepoint (and nothing that is not one)')
    .option('-p, --savepointPath <targetDirectory>', 'where to write the savepoint (same as the second argument)')
    .addOption(savepointTypeOption('savepoint format: canonical (any state backend) or native (the backend\'s own form, incremental where checkpoints are; same backend only), in any case; default canonical; also -type'))
    // Flink's -detached is a short name; --detached is tsflink's too, whole only.
    .addOption(wholeNameOnly(flinkShortName(new Option('--detached', 'trigger and print the trigger id without waiting for the savepoint; also -detached'), 'detached')))
    .addOption(targetOption())
    .addOption(executorOption())
    .action(async (jobId: string | undefined, targetDirectory: string | undefined, options) => {
      const { runSavepoint } = await import('./commands/savepoint.ts');
      exitCode = await runSavepoint(jobId, targetDirectory, options, envFor(options));
    });

  refuseFlinkOptions(clusterCommand('stop'), [ZOOKEEPER_NAMESPACE_REFUSED])
    .description('take a savepoint of a job, then stop it (it ends as FINISHED)')
    .argument('[jobId]', 'the job to stop (as in Flink, `stop -p <jobId>` takes the -p value as the job id when none follows)')
    .option('-p, --savepointPath [targetDirectory]', 'where to write the savepoint (default: execution.checkpointing.savepoint-dir)')
    .option('-d, --drain', 'send MAX_WATERMARK before the savepoint, so event-time windows fire and the job ends for good')
    .addOption(savepointTypeOption('savepoint format: canonical (any state backend) or native (the backend\'s own form; same backend only), in any case; also -type').default('canonical'))
    // Flink's -detached is a short name; --detached is tsflink's too, whole only.
    .addOption(wholeNameOnly(flinkShortName(new Option('--detached', 'trigger the savepoint, print its trigger id and return; the job ends once it completes; also -detached'), 'detached')))
    .addOption(targetOption())
    .addOption(executorOption())
    .action(async (jobId: string | undefined, options) => {
      const { runStop } = await import('./commands/stop.ts');
      exitCode = await runStop(jobId, options, envFor(options));
    });

  refuseFlinkOptions(clusterCommand('cancel'), [ZOOKEEPER_NAMESPACE_REFUSED])
    .description('cancel a running job')
    .argument('[jobId]', 'the job to cancel (as in Flink, `cancel -s <jobId>` takes the -s value as the job id when none follows)')
    .option('-s, --withSavepoint [targetDirectory]', 'deprecated in Flink (use stop): take a savepoint first, into targetDirectory (default: execution.checkpointing.savepoint-dir), then cancel')
    .addOption(savepointTypeOption('format of the -s savepoint: canonical (the default) or native, in any case; also -type'))
    .addOption(targetOption())
    .addOption(executorOption())
    .action(async (jobId: string | undefined, options) => {
      const { runCancel } = await import('./commands/cancel.ts');
      exitCode = await runCancel(jobId, options, envFor(options));
    });

  refuseFlinkOptions(clusterCommand('checkpoint'), [ZOOKEEPER_NAMESPACE_REFUSED])
    .description('take a checkpoint of a running job now')
    .argument('[jobId]', 'the job to checkpoint')
    .option('--full', 'a full checkpoint: with incremental checkpoints every key group is written whole, a new base for the checkpoints after it')
    .addOption(targetOption())
    .addOption(executorOption())
    .action(async (jobId: string | undefined, options) => {
      const { runCheckpoint } = await import('./commands/checkpoint.ts');
      exitCode = await runCheckpoint(jobId, options, envFor(options));
    });

  clusterCommand('cluster')
    .description('start, stop or show the local cluster (its JobManager runs in the background)')
    .addArgument(new Argument('<action>', 'what to do').choices(['start', 'stop', 'status']))
    .action(async (action: 'start' | 'stop' | 'status', options) => {
      const { runCluster } = await import('./commands/cluster.ts');
      exitCode = await runCluster(action, options, envFor(options));
    });

  common(program.command('jobmanager'))
    .description('run a JobManager in the foreground (what `flink cluster start` runs in the background)')
    .action(async (options) => {
      const { runJobManagerCommand } = await import('./commands/jobmanager.ts');
      exitCode = await runJobManagerCommand(options, envFor(options));
    });

  clusterCommand('taskmanager')
    .description('run a TaskManager in the foreground: it offers taskmanager.numberOfTaskSlots slots (default: the cores) to the JobManager at -m')
    .action(async (options) => {
      const { runTaskManagerCommand } = await import('./commands/taskmanager.ts');
      exitCode = await runTaskManagerCommand(options, envFor(options));
    });

  // At the option itself, so an error in a later option or argument of the same command gets its stack too.
  for (const c of program.commands) c.on('option:verbose', () => (verbose = true));
  // Flink's line, ending as commander's own .version() would (exit 0 through exitOverride).
  program.on('option:version', () => {
    const line = versionLine();
    ctx.stdout.write(`${line}\n`);
    throw new CommanderError(0, 'commander.version', line);
  });

  let command: string | undefined;
  program.hook('preSubcommand', (_program, subcommand) => {
    command = subcommand.name();
  });

  // Flink's CliFrontend prints its help and this line when no action is given, and names a first
  // argument that is no action as below; both exit 1.
  const action = argv[0];
  if (action === undefined) {
    ctx.stderr.write(`${program.helpInformation()}\nPlease specify an action.\n`);
    return ExitCode.failure;
  }
  if (!action.startsWith('-') && action !== 'help' && !program.commands.some((c) => c.name() === action)) {
    const actions = program.commands.map((c) => `"${c.name()}"`);
    ctx.stderr.write(`"${action}" is not a valid action.\n\nValid actions are ${actions.slice(0, -1).join(', ')} or ${actions.at(-1) ?? ''}.\n`);
    return ExitCode.failure;
  }

  try {
    // Known before commander parses: a flag refused while it is read (an ambiguous beginning of a name) exits as the command's errors do.
    if (program.commands.some((c) => c.name() === action)) command = action;
    const flags = normalizeFlinkFlags(argv, program);
    typedFlags = flags.spellings;
    await program.parseAsync(flags.argv, { from: 'user' });
    return exitCode;
  } catch (err) {
    let code: number;
    if (err instanceof CommanderError) {
      // Help and version end through here too, with exit code 0.
      // No action at all is a failure of the CliFrontend (exit 1) in Flink, help printed.
      code = err.exitCode === 0 ? ExitCode.ok : command === undefined ? ExitCode.failure : ExitCode.error;
    } else {
      ctx.stderr.write(`${describeError(err)}\n`);
      if (verbose) ctx.stderr.write(stackWithCauses(err));
      code = exitCodeFor(err);
    }
    // Flink's CliFrontend ends every failure of its commands, bad arguments included, with 1;
    // the file tools keep diff(1)'s 2 for an error, apart from their finding (1).
    return code === ExitCode.error && command !== undefined && CLUSTER_COMMANDS.has(command) ? ExitCode.failure : code;
  }
}

/** The commands Flink has too: they exit as Flink's CliFrontend does. */
const CLUSTER_COMMANDS: ReadonlySet<string> = new Set(['run', 'plan-restore', 'info', 'list', 'savepoint', 'stop', 'cancel', 'checkpoint', 'cluster', 'jobmanager', 'taskmanager']);

/** One of Flink's options that tsflink has no counterpart of, and why, with what to do instead. */
interface RefusedOption {
  /** As commander declares it: Flink's one-letter short name, its long name, a value if Flink's takes one. */
  readonly flags: string;
  /** Flink's short name of more than one letter (`sae`, `py`), which commander cannot declare. */
  readonly flinkShort?: string;
  readonly why: string;
}

const PYTHON = 'tsflink runs TypeScript and JavaScript job modules; Python jobs are not supported: give a .ts or .js job module instead.';

/**
 * Flink's ProgramOptions of run and info (CliFrontendParser.getProgramSpecificOptions) that tsflink
 * does not have: declared, so that they and their beginnings are read as commons-cli reads them
 * (`-c Main` takes its value, `--p` is ambiguous as in Flink), and refused in one line rather than
 * with commander's "unknown option".
 */
const PROGRAM_OPTIONS_REFUSED: readonly RefusedOption[] = [
  { flags: '-j, --jarfile <jarfile>', why: 'the job module is the first argument after the options ([options] <jobFile> [args...]): give it there instead of -j.' },
  { flags: '-c, --class <classname>', why: "tsflink runs the job module's default export, (env, args) => { ... }; there is no main class: leave out -c." },
  { flags: '-C, --classpath <url>', why: 'tsflink bundles the job module with its local imports and sends that bundle to the cluster; there is no classpath: leave out -C.' },
  { flags: '-a, --arguments <programArgs>', why: "give the job's arguments after the job file instead ([options] <jobFile> [args...])." },
  { flags: '--yarndetached', flinkShort: 'yd', why: 'tsflink does not run on YARN; this deprecated YARN spelling of detached mode is -d, --detached: use -d.' },
  { flags: '--python <pythonFile>', flinkShort: 'py', why: PYTHON },
  { flags: '--pyFiles <pythonFiles>', flinkShort: 'pyfs', why: PYTHON },
  { flags: '--pyModule <pythonModule>', flinkShort: 'pym', why: PYTHON },
  { flags: '--pyRequirements <arg>', flinkShort: 'pyreq', why: PYTHON },
  { flags: '--pyArchives <arg>', flinkShort: 'pyarch', why: PYTHON },
  { flags: '--pyExecutable <arg>', flinkShort: 'pyexec', why: PYTHON },
  { flags: '--pyClientExecutable <arg>', flinkShort: 'pyclientexec', why: PYTHON },
  { flags: '--pyPythonPath <arg>', flinkShort: 'pypath', why: PYTHON },
];

/** run's -sae, Flink's shutdownOnAttachedExit. */
const RUN_ONLY_REFUSED: readonly RefusedOption[] = [
  {
    flags: '--shutdownOnAttachedExit',
    flinkShort: 'sae',
    why: "an attached flink run already cancels its job on Ctrl-C; tsflink does not turn SIGTERM, SIGHUP or a client that dies into a cancel as Flink's shutdown hook and client heartbeat do: leave out -sae, and cancel a job whose client is gone with flink cancel <jobId>.",
  },
];

/** Flink's info takes run's -d and -sae too (getInfoCommandOptions), where they mean nothing. */
const INFO_ONLY_REFUSED: readonly RefusedOption[] = [
  { flags: '-d, --detached', why: 'info builds the plan and runs nothing, so there is nothing to detach from: leave out -d.' },
  { flags: '--shutdownOnAttachedExit', flinkShort: 'sae', why: 'info builds the plan and runs nothing, so there is no job to shut down: leave out -sae.' },
];

/** AbstractCustomCommandLine's -z of every command that talks to a cluster. */
const ZOOKEEPER_NAMESPACE_REFUSED: RefusedOption = {
  flags: '-z, --zookeeperNamespace <zookeeperNamespace>',
  why: 'tsflink has no ZooKeeper high availability: it talks to the one JobManager at -m host:port or rest.address:rest.port; leave out -z.',
};

/** Flink's savepoint takes -j, the job's jar, for disposing of a savepoint with user classes in it. */
const SAVEPOINT_JARFILE_REFUSED: RefusedOption = { flags: '-j, --jarfile <jarfile>', why: "tsflink disposes of a savepoint without the job's code: leave out -j." };

/** Declares each of Flink's options the command refuses (hidden from help), and refuses it in one line when given. */
function refuseFlinkOptions(command: Command, refused: readonly RefusedOption[]): Command {
  for (const { flags, flinkShort, why } of refused) {
    const option = new Option(flags).hideHelp();
    if (flinkShort !== undefined) flinkShortName(option, flinkShort);
    command.addOption(option);
    const names = flinkShort === undefined ? `${option.short ?? ''} (${option.long ?? ''})` : `-${flinkShort} (${option.long ?? ''})`;
    // Fired as commander reads the option, in any spelling (`-dc Main` too), before any action runs.
    command.on(`option:${option.name()}`, () => {
      throw new UsageError(`${names}: ${why}`);
    });
  }
  return command;
}

/**
 * Flink's `-type, --type` (the savepoint format; `-type` is a short name of four letters, so `-t`
 * is GenericCLI's --target).
 */
function savepointTypeOption(description: string): Option {
  return flinkShortName(new Option('--type <type>', description).argParser(parseSavepointType), 'type');
}

/**
 * GenericCLI's `-t, --target` (Flink's `execution.target`): `remote`, a cluster reached at its
 * REST address, is what every tsflink command talks to, so it is taken (in any case, as Flink's
 * executor factories compare it) and changes nothing; any other target is refused in one line.
 */
function targetOption(): Option {
  return new Option('-t, --target <target>', 'deployment target, Flink\'s execution.target: remote only (the cluster at -m, the default)').argParser(parseTarget('-t'));
}

/** GenericCLI's `-e, --executor`, deprecated in Flink for `-t`, with the same values. */
function executorOption(): Option {
  return new Option('-e, --executor <executor>', 'deprecated name of -t, --target').argParser(parseTarget('-e')).hideHelp();
}

function parseTarget(flag: string): (value: string) => 'remote' {
  return (value) => {
    if (isRemoteTarget(value)) return 'remote';
    // tsflink read `-t` as the savepoint format before it was Flink's --target.
    if (/^(canonical|native)$/i.test(value)) throw new UsageError(`${flag} ${value}: ${flag} is the deployment target (Flink's ${flag === '-t' ? '--target' : '--executor'}); the savepoint format is -type (--type): -type ${value}`);
    throw new UsageError(`${flag} ${value}: ${unsupportedTargetReason(value)}: leave out ${flag}.`);
  };
}

/** Flink reads the savepoint format ignoring case (`-type NATIVE` too). */
function parseSavepointType(value: string): 'canonical' | 'native' {
  const type = value.toLowerCase();
  if (type !== 'canonical' && type !== 'native') throw new InvalidArgumentError('Allowed choices are canonical, native.');
  return type;
}

function parseCount(value: string): number {
  const n = Number(value);
  if (!Number.isSafeInteger(n) || n < 0 || value.trim() === '') throw new InvalidArgumentError('expected a whole number >= 0.');
  return n;
}

/** A byte count: a whole number with an optional unit, `k`/`kb`, `m`/`mb`, `g`/`gb` (powers of 1024). */
function parseMemorySize(value: string): number {
  const match = /^\s*(\d+)\s*(b|k|kb|m|mb|g|gb)?\s*$/i.exec(value);
  const unit = { b: 1, k: 1024, m: 1024 ** 2, g: 1024 ** 3 }[(match?.[2] ?? 'b').charAt(0).toLowerCase() as 'b' | 'k' | 'm' | 'g'];
  const n = match === null ? Number.NaN : Number(match[1]) * unit;
  if (!Number.isSafeInteger(n) || n < 16 * 1024) throw new InvalidArgumentError('expected a size of at least 16k, e.g. 64m or 2g.');
  return n;
}

/** Flink's `ProgramOptions`: a Java int above 0, else its message (one line, exit 1). */
function parseParallelism(value: string): number {
  const n = /^[+-]?\d+$/.test(value) ? Number(value) : Number.NaN;
  if (!(n >= 1 && n <= 2_147_483_647)) throw new UsageError(`The parallelism must be a positive number: ${value}`);
  return n;
}

/**
 * The error's stack, then each cause's as Java prints them (`Caused by: ...`): a job file that
 * threw is wrapped in a UserError whose own stack is tsflink's, and the user's code is in its cause.
 */
function stackWithCauses(err: unknown): string {
  const lines: string[] = [];
  const seen = new Set<unknown>();
  for (let e: unknown = err; e !== undefined && !seen.has(e); e = e instanceof Error ? e.cause : undefined) {
    seen.add(e);
    const text = e instanceof Error ? (e.stack ?? `${e.name}: ${e.message}`) : String(e);
    lines.push(e === err ? text : `Caused by: ${text}`);
  }
  return lines.length === 0 ? '' : `${lines.join('\n')}\n`;
}

function versionLine(): string {
  return `Version: ${VERSION}, Commit ID: ${revision().commitId}`;
}
