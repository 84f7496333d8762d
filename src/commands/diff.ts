/** `flink diff <a> <b>`: exit 0 when equal, 1 when different, 2 on error, like diff(1). */
import type { CommandEnv, CommonOptions } from '../cli.ts';
import { storeOptions } from '../config.ts';
import { ExitCode, UsageError } from '../errors.ts';
import { type CrossSnapshotDiff, type SnapshotView, diffViews, viewOfFlink, viewOfTsflink } from '../format/flink/diff.ts';
import { type FieldChange, type SnapshotDiff, diffSnapshots } from '../format/diff-snapshots.ts';
import { type SchemaDiff, type StateSchema, diffSchemas } from '../format/diff-schemas.ts';
import type { SnapshotReader } from '../format/snapshot-reader.ts';
import { type AnySnapshot, openAnySnapshot } from '../open-snapshot.ts';
import type { CliContext } from '../output/context.ts';
import { Progress, type ProgressTotal, progressEnabled } from '../output/progress.ts';
import { styleFor } from '../output/style.ts';

export interface DiffOptions extends CommonOptions {
  readonly entries?: boolean;
  /** Compare only the states' declared schemas (kind, mode, schema version, TTL). */
  readonly schema?: boolean;
  readonly limit?: number;
  /** Apache Flink snapshots: uids to name operators by. */
  readonly uid?: string[];
}

export async function runDiff(pathA: string, pathB: string, options: DiffOptions, { ctx, config }: CommandEnv): Promise<number> {
  const store = storeOptions(config);
  const [sa, sb] = await Promise.all([openAnySnapshot(pathA, store), openAnySnapshot(pathB, store)]);
  if (options.schema === true) {
    for (const [flag, on] of [['--entries', options.entries === true], ['--limit', options.limit !== undefined]] as const) {
      if (on) throw new UsageError(`--schema compares the states' declared schemas, not their entries: leave out ${flag}`);
    }
    if (sa.writer === 'flink' || sb.writer === 'flink') {
      throw new UsageError("--schema compares the schema versions tsflink snapshots record; an Apache Flink snapshot's serializer snapshots are not read: leave out --schema");
    }
  }
  if (sa.writer === 'flink' || sb.writer === 'flink') return diffWithFlink(sa, sb, options, ctx);
  if (options.uid !== undefined && options.uid.length > 0) {
    throw new UsageError('--uid names operators of Apache Flink snapshots; both of these are tsflink snapshots, which store their uids: leave out --uid');
  }
  const [a, b] = [sa.reader, sb.reader];
  if (options.schema === true) return diffSchemaOnly(a, b, options, ctx);
  if (options.limit !== undefined && options.entries !== true) {
    throw new UsageError('--limit caps the changed keys listed per state, which only --entries compares: add --entries, or leave out --limit');
  }
  const limit = options.limit ?? (options.json === true ? Infinity : 20);
  let diff: SnapshotDiff;
  const progress = new Progress({ out: ctx.stderr, enabled: options.entries === true && progressEnabled(ctx.stderr, options.json), now: () => performance.now(), label: 'diff', total: sharedStateTotal(a, b) });
  let entries = 0;
  let bytes = 0;
  a.onFrame = b.onFrame = (items, size) => {
    entries += items;
    bytes += size;
    progress.update(entries, bytes);
  };
  try {
    diff = await diffSnapshots(a, b, { entries: options.entries === true, limit });
  } finally {
    progress.done();
  }
  if (options.json === true) {
    ctx.stdout.write(`${JSON.stringify({ a: a.store.location, b: b.store.location, ...diff }, null, 2)}\n`);
  } else {
    ctx.stdout.write(renderDiff(a, b, diff, ctx));
  }
  return diff.equal ? ExitCode.ok : ExitCode.finding;
}

function renderDiff(a: SnapshotReader, b: SnapshotReader, diff: SnapshotDiff, ctx: CliContext): string {
  const style = styleFor(ctx.stdout, ctx);
  const title = (r: SnapshotReader): string => `${r.store.location} (${r.metadata.kind} ${r.metadata.checkpointId} of job ${r.metadata.jobId})`;
  const lines = [`--- a: ${title(a)}`, `+++ b: ${title(b)}`];
  const change = (c: FieldChange): string => `${c.field}: ${show(c.a)} -> ${show(c.b)}`;
  for (const c of diff.header) lines.push(style.dim(`  ${change(c)}`));
  for (const op of diff.operators) {
    if (op.status === 'added') lines.push(style.green(`+ operator '${op.uid}'`));
    else if (op.status === 'removed') lines.push(style.red(`- operator '${op.uid}'`));
    else {
      lines.push(style.yellow(`~ operator '${op.uid}'`));
      for (const c of op.changes) lines.push(`    ${change(c)}`);
      for (const s of op.states) {
        const what = `${s.scope} state '${s.name}' (${s.kind})`;
        if (s.status === 'added') lines.push(style.green(`    + ${what}`));
        else if (s.status === 'removed') lines.push(style.red(`    - ${what}`));
        else {
          // The keys themselves are listed below when --entries was given; otherwise say how to list them.
          const content = s.content === undefined ? [] : [`keys: ${s.content.added} added, ${s.content.removed} removed, ${s.content.changed} changed${diff.entries === undefined ? ' (see --entries)' : ''}`];
          lines.push(style.yellow(`    ~ ${what}: ${[...s.changes.map(change), ...content].join(', ')}`));
        }
      }
    }
  }
  for (const e of diff.entries ?? []) {
    lines.push(`entries of ${e.operator}/${e.state}: ${e.added} added, ${e.removed} removed, ${e.changed} changed`);
    const entry = (s: { key: unknown; value: unknown }): string => (s.key === null ? show(s.value) : `${show(s.key)}: ${show(s.value)}`);
    for (const s of e.samples.added) lines.push(style.green(`    + ${entry(s)}`));
    for (const s of e.samples.removed) lines.push(style.red(`    - ${entry(s)}`));
    for (const s of e.samples.changed) lines.push(style.yellow(`    ~ ${show(s.key)}: ${show(s.a)} -> ${show(s.b)}`));
    const shown = e.samples.added.length + e.samples.removed.length + e.samples.changed.length;
    const total = e.added + e.removed + e.changed;
    if (shown < total) lines.push(style.dim(`    (${total - shown} more; --limit shows more)`));
  }
  if (diff.equal) lines.push('Snapshots hold the same operators and states.');
  else {
    const count = (status: string): number => diff.operators.filter((o) => o.status === status).length;
    const entryStates = diff.entries?.length ?? 0;
    lines.push(`Snapshots differ: ${count('added')} operator(s) added, ${count('removed')} removed, ${count('changed')} changed${diff.entries === undefined ? '' : `; entries differ in ${entryStates} state(s)`}.`);
  }
  return `${lines.join('\n')}\n`;
}

/** Entries and bytes of the states `--entries` reads: those of operators in both snapshots. */
function sharedStateTotal(a: SnapshotReader, b: SnapshotReader): ProgressTotal {
  const uids = new Set(a.metadata.operators.map((op) => op.uid));
  const shared = new Set(b.metadata.operators.filter((op) => uids.has(op.uid)).map((op) => op.uid));
  const states = [a, b].flatMap((r) => r.metadata.operators.filter((op) => shared.has(op.uid)).flatMap((op) => [...op.keyedStates, ...op.operatorStates]));
  return { entries: states.reduce((n, s) => n + s.entries, 0), bytes: states.reduce((n, s) => n + s.bytes, 0) };
}

function show(value: unknown): string {
  return JSON.stringify(value) ?? 'null';
}

/** `--schema`: the states whose declared schema differs, from `_metadata` alone. */
function diffSchemaOnly(a: SnapshotReader, b: SnapshotReader, options: DiffOptions, ctx: CliContext): number {
  const diff = diffSchemas(a.metadata, b.metadata);
  if (options.json === true) ctx.stdout.write(`${JSON.stringify({ a: a.store.location, b: b.store.location, ...diff }, null, 2)}\n`);
  else ctx.stdout.write(renderSchemaDiff(a, b, diff, ctx));
  return diff.equal ? ExitCode.ok : ExitCode.finding;
}

function renderSchemaDiff(a: SnapshotReader, b: SnapshotReader, diff: SchemaDiff, ctx: CliContext): string {
  const style = styleFor(ctx.stdout, ctx);
  const title = (r: SnapshotReader): string => `${r.store.location} (${r.metadata.kind} ${r.metadata.checkpointId} of job ${r.metadata.jobId})`;
  const lines = [`--- a: ${title(a)}`, `+++ b: ${title(b)}`];
  const describe = (s: StateSchema): string => `${s.kind}${s.mode === null || s.mode === s.kind ? '' : ` ${s.mode}`}, schema version ${s.schemaVersion}${s.ttl === null ? '' : ', with TTL'}`;
  let operator: string | undefined;
  for (const s of diff.states) {
    if (s.operator !== operator) {
      operator = s.operator;
      lines.push(`operator '${operator}'`);
    }
    const what = `${s.scope} state '${s.name}'`;
    if (s.status === 'added') lines.push(style.green(`  + ${what} (${describe(s.b!)})`));
    else if (s.status === 'removed') lines.push(style.red(`  - ${what} (${describe(s.a!)})`));
    else lines.push(style.yellow(`  ~ ${what}: ${s.changes.map((c) => `${c.field} ${show(c.a)} -> ${show(c.b)}`).join(', ')}`));
  }
  if (diff.equal) lines.push('Snapshots have the same state schemas.');
  else {
    const count = (status: string): number => diff.states.filter((s) => s.status === status).length;
    lines.push(`State schemas differ: ${count('added')} state(s) added, ${count('removed')} removed, ${count('changed')} changed.`);
  }
  return `${lines.join('\n')}\n`;
}

/** Either side an Apache Flink snapshot: operators by id, from `_metadata` alone. */
function diffWithFlink(a: AnySnapshot, b: AnySnapshot, options: DiffOptions, ctx: CliContext): number {
  for (const [flag, on] of [['--entries', options.entries === true], ['--limit', options.limit !== undefined]] as const) {
    if (on) throw new UsageError(`${flag} compares state entries of tsflink snapshots; Apache Flink's state files are not read: leave out ${flag}`);
  }
  const view = (s: AnySnapshot): SnapshotView => (s.writer === 'flink' ? viewOfFlink(s.metadata, s.store.location, options.uid ?? []) : viewOfTsflink(s.reader.metadata, s.reader.store.location));
  const [va, vb] = [view(a), view(b)];
  const diff = diffViews(va, vb);
  if (options.json === true) ctx.stdout.write(`${JSON.stringify({ a: va.location, b: vb.location, ...diff }, null, 2)}\n`);
  else ctx.stdout.write(renderCrossDiff(va, vb, diff, ctx));
  return diff.equal ? ExitCode.ok : ExitCode.finding;
}

function renderCrossDiff(a: SnapshotView, b: SnapshotView, diff: CrossSnapshotDiff, ctx: CliContext): string {
  const style = styleFor(ctx.stdout, ctx);
  const title = (v: SnapshotView): string => {
    const what = v.kind === null ? 'snapshot' : v.kind;
    return v.writer === 'tsflink' ? `${v.location} (tsflink ${what} ${v.checkpointId}, format version ${v.version})` : `${v.location} (Apache Flink ${what} ${v.checkpointId}, metadata version ${v.version})`;
  };
  const lines = [`--- a: ${title(a)}`, `+++ b: ${title(b)}`];
  const change = (c: FieldChange): string => `${c.field}: ${show(c.a)} -> ${show(c.b)}`;
  for (const c of diff.header) lines.push(style.dim(`  ${change(c)}`));
  for (const op of diff.operators) {
    const label = `operator ${op.id}${op.uid === null ? '' : ` '${op.uid}'`}`;
    if (op.status === 'added') lines.push(style.green(`+ ${label}`));
    else if (op.status === 'removed') lines.push(style.red(`- ${label}`));
    else {
      lines.push(style.yellow(`~ ${label}`));
      for (const c of op.changes) lines.push(`    ${change(c)}`);
      for (const st of op.states) {
        const what = `operator state '${st.name}' (${st.mode})`;
        if (st.status === 'added') lines.push(style.green(`    + ${what}`));
        else if (st.status === 'removed') lines.push(style.red(`    - ${what}`));
        else lines.push(style.yellow(`    ~ ${what}: ${st.changes.map(change).join(', ')}`));
      }
    }
  }
  if (diff.equal) lines.push('Snapshots hold the same operators and states.');
  else {
    const count = (status: string): number => diff.operators.filter((o) => o.status === status).length;
    lines.push(`Snapshots differ: ${count('added')} operator(s) added, ${count('removed')} removed, ${count('changed')} changed.`);
  }
  return `${lines.join('\n')}\n`;
}
