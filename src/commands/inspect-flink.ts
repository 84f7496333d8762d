/**
 * `flink inspect` of an Apache Flink snapshot: reads `_metadata` (no JVM), checks the files
 * beside it that relative handles name, and prints the header, the operators and every state
 * handle per subtask (or one JSON document). Exit 1 when a file beside `_metadata` is missing or
 * has another size than recorded, as `diff` and `verify` report a finding.
 */
import { ExitCode, UsageError } from '../errors.ts';
import { checkRelativeFiles } from '../format/flink/file-refs.ts';
import type { FlinkSnapshotMetadata } from '../format/flink/model.ts';
import { type FileSummary, type FlinkSnapshotSummary, type HandleSummary, allFileRefs, summarizeFlink } from '../format/flink/summary.ts';
import type { ObjectStore } from '../storage/object-store.ts';
import type { CliContext } from '../output/context.ts';
import { formatBytes, styleFor } from '../output/style.ts';
import { renderTable } from '../output/table.ts';

export interface FlinkInspectOptions {
  readonly json?: boolean;
  readonly operator?: string;
  readonly uid?: readonly string[];
  readonly state?: string;
  readonly entries?: boolean;
  readonly keys?: boolean;
  readonly key?: string;
  readonly limit?: number;
}

/** Options that read state entries: tsflink's own files only. */
function refuseEntryOptions(options: FlinkInspectOptions): void {
  const given = [
    ['--state', options.state !== undefined],
    ['--entries', options.entries === true],
    ['--keys', options.keys === true],
    ['--key', options.key !== undefined],
    ['--limit', options.limit !== undefined],
  ].find(([, on]) => on);
  if (given !== undefined) {
    throw new UsageError(`${String(given[0])} reads state entries of tsflink snapshots; this is an Apache Flink snapshot, whose state files are not read: leave out ${String(given[0])} (--operator and --uid work)`);
  }
}

export async function inspectFlink(store: ObjectStore, metadata: FlinkSnapshotMetadata, options: FlinkInspectOptions, ctx: CliContext): Promise<number> {
  refuseEntryOptions(options);
  const fileStatus = await checkRelativeFiles(allFileRefs(metadata), (path) => store.stat(path));
  const summary = summarizeFlink(metadata, {
    location: store.location,
    uids: options.uid ?? [],
    fileStatus,
    resolve: (path) => store.describe(path),
    ...(options.operator === undefined ? {} : { operator: options.operator }),
  });
  if (options.operator !== undefined && summary.operators.length === 0) {
    const known = metadata.operators.map((op) => op.uid ?? op.id).join(', ');
    throw new UsageError(`no operator '${options.operator}' in ${store.location} (give an operator id or a uid; operators: ${known})`);
  }
  if (options.json === true) ctx.stdout.write(`${JSON.stringify(summary, null, 2)}\n`);
  else ctx.stdout.write(renderFlinkSummary(summary, ctx));
  if (summary.files.problems > 0) {
    ctx.stderr.write(`${summary.files.problems} file(s) beside _metadata are missing or have another size than recorded (see 'where'); Flink cannot restore this snapshot as it is.\n`);
    return ExitCode.finding;
  }
  return ExitCode.ok;
}

function title(s: FlinkSnapshotSummary): string {
  if (s.kind === null) {
    const why = s.properties === null ? 'its properties are stored as null' : `not recorded before metadata version 4`;
    return `Apache Flink snapshot (checkpoint or savepoint: ${why})`;
  }
  return `Apache Flink ${s.kind} (${s.type ?? 'format not recorded'})`;
}

function propertiesLine(s: FlinkSnapshotSummary): string {
  const p = s.properties;
  if (p === undefined) return `not stored (metadata version ${s.metadataVersion})`;
  if (p === null) return 'null (as the State Processor API writes them)';
  const parts = [`"${p.name}"`];
  if (p.formatType !== undefined) parts.push(`format ${p.formatType}`);
  if (p.postCheckpointAction !== undefined) parts.push(`then ${p.postCheckpointAction}`);
  if (p.sharingFilesStrategy !== undefined) parts.push(`sharing ${p.sharingFilesStrategy}`);
  if (p.forced) parts.push('forced');
  if (p.unclaimed) parts.push('unclaimed');
  return parts.join(', ');
}

function filesLine(s: FlinkSnapshotSummary): string {
  const { relative, absolute, problems } = s.files;
  const parts: string[] = [];
  if (relative > 0) parts.push(`${relative} beside _metadata, ${problems === 0 ? 'all present with their recorded size' : `${problems} missing or of another size`}`);
  if (absolute > 0) parts.push(`${absolute} elsewhere (absolute paths, not checked)`);
  return parts.length === 0 ? 'none (all state inline in _metadata)' : parts.join('; ');
}

export function renderFlinkSummary(s: FlinkSnapshotSummary, ctx: CliContext): string {
  const style = styleFor(ctx.stdout, ctx);
  const lines = [
    style.bold(title(s)),
    `  location:          ${s.location}`,
    `  metadata version:  ${s.metadataVersion} (${s.writtenBy})`,
    `  checkpoint id:     ${s.checkpointId}`,
    `  properties:        ${propertiesLine(s)}`,
    `  state size:        ${formatBytes(s.bytes)} (${formatBytes(s.inlineBytes)} inline in _metadata)`,
    `  metadata size:     ${formatBytes(s.metadataBytes)}`,
    `  files:             ${filesLine(s)}`,
    `  master states:     ${s.masterStates.length === 0 ? 'none' : s.masterStates.map((m) => `${m.name} (version ${m.version}, ${formatBytes(m.size)})`).join(', ')}`,
    '',
  ];
  let out = `${lines.join('\n')}\n`;
  out += renderTable(
    style,
    ['operator id', 'uid', 'name', 'parallelism', 'max parallelism', 'subtasks', 'operator states', 'keyed', 'bytes'],
    s.operators.map((op) => [
      op.id,
      op.uid === null ? '-' : op.uidFrom === '--uid' ? `${op.uid} (--uid)` : op.uid,
      op.name ?? '-',
      op.parallelism,
      op.maxParallelism,
      op.fullyFinished ? 'all finished' : op.subtasks.length,
      op.operatorStates.map((st) => `${st.name} (${st.mode})`).join(', ') || '-',
      op.hasKeyedState ? 'yes' : '-',
      formatBytes(op.bytes),
    ]),
    [3, 4, 5, 8],
  );
  const rows: (string | number)[][] = [];
  for (const op of s.operators) {
    const who = op.uid ?? op.id.slice(0, 8);
    if (op.coordinatorStateBytes > 0) rows.push([who, '-', 'coordinator', 'inline', '-', formatBytes(op.coordinatorStateBytes), 'inline', '-']);
    if (op.fullyFinished) rows.push([who, 'all', '-', 'finished', '-', '-', '-', '-']);
    for (const st of op.subtasks) {
      if (st.finished) rows.push([who, st.index, '-', 'finished', '-', '-', '-', '-']);
      for (const h of st.handles) rows.push([who, st.index, h.slot, `${h.kind} (${h.tag})`, keyGroups(h), formatBytes(h.bytes), where(h), states(h)]);
    }
  }
  if (rows.length > 0) out += `\n${renderTable(style, ['operator', 'subtask', 'slot', 'handle (tag)', 'key groups', 'bytes', 'where', 'states'], rows, [1, 5])}`;
  const legacy = s.operators.flatMap((op) => op.subtasks).filter((st) => st.handles.some((h) => h.slot === 'legacy')).length;
  if (legacy > 0) {
    // MetadataV2Serializer's own words: Flink 1.4 and later refuse to restore such a snapshot.
    out += `${legacy} subtask(s) hold legacy state, which Flink no longer restores: "Legacy state (from Flink <= 1.1, created through the 'Checkpointed' interface) is no longer supported."\n`;
  }
  for (const u of s.unmatchedUids) out += `--uid '${u.uid}' matches no operator (its id would be ${u.id})\n`;
  for (const f of problemFiles(s)) out += style.red(`${f.status}: ${f.resolved ?? f.path} (recorded ${f.bytes} bytes)\n`);
  return out;
}

function keyGroups(h: HandleSummary): string {
  if (h.keyGroups === undefined) return '-';
  const { start, end } = h.keyGroups;
  return end < start ? 'none' : start === end ? String(start) : `${start}-${end}`;
}

function states(h: HandleSummary): string {
  return h.states === undefined ? '-' : h.states.map((s) => `${s.name} (${s.mode}, ${s.offsets})`).join(', ') || 'none';
}

function where(h: HandleSummary): string {
  const files = h.files;
  const inline = h.inlineBytes > 0 ? 'inline' : '';
  if (files.length === 0) return inline || '-';
  const status = (f: FileSummary): string => (f.relative ? (f.status ?? 'not checked') : 'absolute, not checked');
  let text: string;
  if (files.length === 1) {
    const f = files[0]!;
    text = `${f.path} (${status(f)})`;
  } else {
    const bad = files.filter((f) => f.relative && f.status !== 'ok').length;
    const absolute = files.filter((f) => !f.relative).length;
    const parts = [bad === 0 ? (absolute === files.length ? 'absolute, not checked' : 'all ok') : `${bad} not ok`];
    if (absolute > 0 && absolute < files.length) parts.push(`${absolute} absolute`);
    text = `${files.length} files (${parts.join(', ')})`;
  }
  return inline === '' ? text : `inline + ${text}`;
}

function problemFiles(s: FlinkSnapshotSummary): FileSummary[] {
  const seen = new Map<string, FileSummary>();
  for (const op of s.operators) {
    for (const st of op.subtasks) for (const h of st.handles) for (const f of h.files) if (f.relative && f.status !== undefined && f.status !== 'ok') seen.set(f.path, f);
  }
  return [...seen.values()];
}
