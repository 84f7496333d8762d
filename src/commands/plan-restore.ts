/**
 * `flink plan-restore <snapshot> <jobFile> [args...]`: a dry run of `flink run -s`. Builds the
 * job as `run` does, makes the very call `run -s` makes to match it to the snapshot (so the
 * verdict and the error are run's own), and prints what the restore would do: operators matched,
 * new or dropped, each state's fate, the key groups and bytes each new subtask reads, max
 * parallelism. Runs nothing, submits nothing. Exit 0: the restore would succeed; 1: it would not.
 */
import { resolve } from 'node:path';
import type { CommandEnv, CommonOptions } from '../cli.ts';
import { ignoreUnclaimedState } from '../config.ts';
import { UserError, describeError } from '../errors.ts';
import { jobSettingsFromConfig } from '../engine/cluster/job-settings.ts';
import { absoluteLocation, nonEmptyPath } from '../engine/cluster/locations.ts';
import { openRestoreForUser, prepareJob } from '../engine/cluster/prepare-job.ts';
import { restoreSpecs } from '../engine/runtime/local-executor.ts';
import { type OperatorReport, type RestoreReport, type StateReport, restoreReport } from '../engine/state/restore-report.ts';
import type { StreamNode } from '../engine/api/stream-graph.ts';
import type { DeclaredKeyedState } from '../engine/state/restore-plan.ts';
import { schemaMigration } from '../engine/state/schema-migration.ts';
import { openSnapshot } from '../open-snapshot.ts';
import { formatBytes, styleFor } from '../output/style.ts';
import { renderTable } from '../output/table.ts';

export interface PlanRestoreOptions extends CommonOptions {
  readonly parallelism?: number;
  readonly allowNonRestoredState?: boolean;
}

export async function runPlanRestore(snapshot: string, jobFile: string, args: readonly string[], options: PlanRestoreOptions, env: CommandEnv): Promise<number> {
  const { ctx, config } = env;
  const cwd = ctx.cwd ?? process.cwd();
  const restorePath = absoluteLocation(nonEmptyPath(snapshot, 'snapshot'), cwd);
  const allowNonRestoredState = options.allowNonRestoredState === true || ignoreUnclaimedState(config);
  const prepared = await prepareJob(resolve(cwd, nonEmptyPath(jobFile, 'jobFile')), args, jobSettingsFromConfig(config, options.parallelism));

  // The verdict is the outcome of the call `flink run -s` makes (prepareJob's), not a second opinion.
  let error: string | null = null;
  try {
    await openRestoreForUser(prepared.plan, restorePath, { ...prepared.options, restoreFrom: restorePath, allowNonRestoredState });
  } catch (err) {
    if (!(err instanceof UserError)) throw err;
    error = describeError(err);
  }
  // A snapshot that cannot be read has nothing to report beyond run's error.
  const metadata = await openSnapshot(restorePath, prepared.options.storeOptions).then(
    (reader) => reader.metadata,
    (err: unknown) => {
      if (error === null) throw err;
      return undefined;
    },
  );
  const names = new Map(prepared.plan.nodes.map((n) => [n.uid, n.name]));
  const nodes = new Map(prepared.plan.nodes.map((n) => [n.uid, n.node]));
  const report =
    metadata === undefined
      ? undefined
      : restoreReport({ location: restorePath, metadata, operators: restoreSpecs(prepared.plan).map((s) => ({ ...s, name: names.get(s.uid) ?? s.uid, ...declaredStatesOf(nodes.get(s.uid)) })), allowNonRestoredState });

  if (options.json === true) ctx.stdout.write(`${JSON.stringify({ ok: error === null, error, ...(report ?? {}) }, null, 2)}\n`);
  else if (report !== undefined) ctx.stdout.write(renderReport(report, error, styleFor(ctx.stdout, ctx)));
  if (error === null) return 0;
  ctx.stderr.write(`${error}\n`);
  return 1;
}

/**
 * The keyed states an operator declares before it opens (a window aggregate's accumulator schema):
 * asked of one instance of it, made as a subtask makes it; most declare none.
 */
function declaredStatesOf(node: StreamNode | undefined): { keyedStates?: readonly DeclaredKeyedState[] } {
  const declared = node?.createOperator?.().declaredKeyedStates?.() ?? [];
  return declared.length === 0 ? {} : { keyedStates: declared };
}

/** The one line a job gives when it opens a state it cannot restore (schema-migration.ts), for a `schema-changed` row. */
function schemaRefusal(s: StateReport): string | null {
  if (s.fate !== 'schema-changed' || s.schemaVersion === null || s.declaredSchemaVersion === null) return null;
  try {
    schemaMigration({ scope: s.scope, name: s.name, operator: s.operator }, s.schemaVersion, { schemaVersion: s.declaredSchemaVersion });
  } catch (err) {
    return describeError(err);
  }
  return null;
}

function renderReport(report: RestoreReport, error: string | null, style: ReturnType<typeof styleFor>): string {
  const { snapshot } = report;
  const out: string[] = [];
  out.push(`Restore of ${snapshot.kind} ${snapshot.checkpointId} of job ${snapshot.jobName} (${snapshot.jobId}) from ${report.location}`);
  out.push(`allowNonRestoredState: ${report.allowNonRestoredState ? 'yes' : 'no'}\n`);
  out.push(style.bold('Operators'));
  out.push(
    renderTable(
      style,
      ['uid', 'name', 'fate', 'parallelism', 'max parallelism', 'note'],
      report.operators.map((o) => [o.uid, o.name ?? '-', o.fate, change(o.parallelism.snapshot, o.parallelism.job), maxParallelismCell(o), operatorNote(o, report.allowNonRestoredState)]),
    ),
  );
  if (report.states.length > 0) {
    out.push(style.bold('States'));
    out.push(
      renderTable(
        style,
        ['operator', 'state', 'scope', 'kind', 'schema', 'entries', 'bytes', 'fate'],
        report.states.map((s) => [s.operator, s.name, s.scope, kindCell(s), schemaCell(s), s.entries, formatBytes(s.bytes), s.fate]),
        [5, 6],
      ),
    );
  }
  const refusals = report.states.map(schemaRefusal).filter((line) => line !== null);
  if (refusals.length > 0) {
    out.push(style.yellow('States the job will refuse when it opens (a restore cannot check them before):'));
    for (const line of refusals) out.push(`  ${line}`);
    out.push('');
  }
  if (report.subtasks.some((s) => report.operators.find((o) => o.uid === s.operator)?.fate === 'matched')) {
    out.push(style.bold('What each subtask reads'));
    const matched = new Set(report.operators.filter((o) => o.fate === 'matched').map((o) => o.uid));
    out.push(
      renderTable(
        style,
        ['operator', 'subtask', 'key groups', 'keyed blocks', 'keyed bytes', 'operator state partitions', 'operator state bytes', 'total'],
        report.subtasks
          .filter((s) => matched.has(s.operator))
          .map((s) => [
            s.operator,
            s.subtask,
            s.keyGroups === null ? '-' : `${s.keyGroups.start}-${s.keyGroups.end}`,
            s.keyedBlocks,
            formatBytes(s.keyedBytes),
            s.operatorPartitions,
            formatBytes(s.operatorBytes),
            formatBytes(s.keyedBytes + s.operatorBytes),
          ]),
        [1, 3, 4, 5, 6, 7],
      ),
    );
  }
  const verdict =
    error !== null
      ? `${style.red('REFUSED')}: flink run -s would not start this job (the error follows on stderr).`
      : refusals.length > 0
        ? `${style.yellow('OK')}: flink run -s would start this job, and the job would fail when it opens (see above).`
        : `${style.green('OK')}: flink run -s would restore this job.`;
  out.push(`${verdict}\n`);
  return out.join('\n');
}

function change(before: number | null, after: number | null): string {
  if (before === null) return `- → ${after ?? '-'}`;
  if (after === null) return `${before} → -`;
  return before === after ? String(after) : `${before} → ${after}`;
}

function maxParallelismCell(o: OperatorReport): string {
  const { snapshot, job, verdict } = o.maxParallelism;
  if (verdict === null) return String(snapshot ?? job ?? '-');
  if (verdict === 'adopted') return `${snapshot} (adopted; the job's default is ${job})`;
  if (verdict === 'same') return String(snapshot);
  if (verdict === 'below-parallelism') return `${snapshot} (below the parallelism ${o.parallelism.job ?? '-'})`;
  return `${snapshot} → ${job} (cannot change)`;
}

function operatorNote(o: OperatorReport, allow: boolean): string {
  switch (o.fate) {
    case 'matched':
      return o.problem !== null ? 'cannot be restored' : o.matchedBy === 'id' ? `matched by operator id (was ${o.snapshotUid})` : 'state restored';
    case 'new':
      return o.problem !== null ? 'cannot start' : 'starts empty';
    case 'dropped':
      return allow ? 'state not restored (-n)' : 'has state: needs -n';
    case 'skipped':
      return 'no state';
  }
}

function kindCell(s: StateReport): string {
  if (s.kind === null) return s.declaredKind ?? '-';
  return s.declaredKind !== null && s.declaredKind !== s.kind ? `${s.kind} → ${s.declaredKind}` : s.kind;
}

function schemaCell(s: StateReport): string {
  if (s.schemaVersion === null) return s.declaredSchemaVersion === null ? '-' : String(s.declaredSchemaVersion);
  return s.declaredSchemaVersion !== null && s.declaredSchemaVersion !== s.schemaVersion ? `${s.schemaVersion} → ${s.declaredSchemaVersion}` : String(s.schemaVersion);
}
