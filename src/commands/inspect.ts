/** `flink inspect <path>`: what a snapshot holds, from its metadata, or its entries on request. */
import type { CommandEnv, CommonOptions } from '../cli.ts';
import { storeOptions } from '../config.ts';
import { ExitCode, UsageError, UserError } from '../errors.ts';
import { checkFiles, describeFileProblem } from '../format/check-files.ts';
import { keyFromJsonText, toJson } from '../format/json-value.ts';
import type { SnapshotReader } from '../format/snapshot-reader.ts';
import { type SnapshotSummary, summarize } from '../format/summary.ts';
import { hasTtlLayout, readableTtlValue } from '../format/ttl-layout.ts';
import { openAnySnapshot } from '../open-snapshot.ts';
import { inspectFlink } from './inspect-flink.ts';
import { formatBytes, styleFor } from '../output/style.ts';
import { renderTable } from '../output/table.ts';
import type { CliContext } from '../output/context.ts';
import { Progress, progressEnabled } from '../output/progress.ts';

export interface InspectOptions extends CommonOptions {
  readonly operator?: string;
  readonly state?: string;
  readonly entries?: boolean;
  readonly keys?: boolean;
  readonly key?: string;
  readonly limit?: number;
  /** Apache Flink snapshots: uids to name operators by (their murmur3_128 is the operator id). */
  readonly uid?: string[];
}

export async function runInspect(path: string, options: InspectOptions, { ctx, config }: CommandEnv): Promise<number> {
  const modes = [options.entries, options.keys, options.key !== undefined].filter(Boolean).length;
  if (modes > 1) throw new UsageError('choose one of --entries, --keys and --key');
  const key = options.key === undefined ? undefined : keyFromJsonText(options.key);
  const opened = await openAnySnapshot(path, storeOptions(config));
  if (opened.writer === 'flink') return inspectFlink(opened.store, opened.metadata, options, ctx);
  // After the Flink branch, which refuses --limit with its own reason.
  if (options.limit !== undefined && options.entries !== true && options.keys !== true) {
    throw new UsageError('--limit caps the lines of --entries or --keys: add one of them, or leave out --limit');
  }
  if (options.uid !== undefined && options.uid.length > 0) {
    throw new UsageError('--uid names operators of Apache Flink snapshots, which do not all store uids; this tsflink snapshot stores them: leave out --uid');
  }
  const reader = opened.reader;
  const summary = summarize(reader, { operator: options.operator, state: options.state });
  if (options.operator !== undefined) reader.operator(options.operator); // names the known uids when wrong
  if (options.state !== undefined && !summary.operators.some((op) => op.states.length > 0)) {
    throw new UsageError(`no state '${options.state}' in ${options.operator === undefined ? 'any operator' : `operator '${options.operator}'`}`);
  }

  // A stat per data file, no bytes read: a checkpoint whose shared files are gone must not look restorable.
  const problems = await checkFiles(reader);
  if (problems.length > 0 && (key !== undefined || options.entries === true || options.keys === true)) {
    const more = problems.length > 1 ? ` (and ${problems.length - 1} more file(s) missing or of another size; see 'flink inspect ${reader.store.location}')` : '';
    throw new UserError(`${describeFileProblem(problems[0]!, reader, true)}${more}`);
  }

  if (key !== undefined) return printKey(reader, summary, key, ctx);
  if (options.entries === true || options.keys === true) {
    // Progress only when the entries go elsewhere than the terminal (`> file`, `| tool`): drawn
    // between lines printed to the same terminal it would garble them.
    const progress = new Progress({
      out: ctx.stderr,
      enabled: progressEnabled(ctx.stderr, options.json) && ctx.stdout.isTTY !== true,
      now: () => performance.now(),
      label: 'inspect',
      total: { entries: summary.operators.reduce((n, op) => n + op.entries, 0), bytes: summary.operators.reduce((n, op) => n + op.bytes, 0) },
    });
    let entries = 0;
    let bytes = 0;
    reader.onFrame = (items, size) => {
      entries += items;
      bytes += size;
      progress.update(entries, bytes);
    };
    try {
      await printEntries(reader, summary, options.keys === true, options.limit ?? Infinity, ctx);
    } finally {
      progress.done();
    }
    return ExitCode.ok;
  }
  if (options.json === true) ctx.stdout.write(`${JSON.stringify(problems.length === 0 ? summary : ({ ...summary, fileProblems: problems } satisfies SnapshotSummary), null, 2)}\n`);
  else ctx.stdout.write(renderSummary(summary, options.operator !== undefined || options.state !== undefined, ctx));
  for (const p of problems) ctx.stderr.write(`${describeFileProblem(p, reader)}\n`);
  return problems.length === 0 ? ExitCode.ok : ExitCode.finding;
}

function renderSummary(s: SnapshotSummary, showStates: boolean, ctx: CliContext): string {
  const style = styleFor(ctx.stdout, ctx);
  const title = `${s.kind === 'savepoint' ? 'Savepoint' : 'Checkpoint'} (${s.type})`;
  const lines = [
    style.bold(title),
    `  location:        ${s.location}`,
    `  format version:  ${s.formatVersion}`,
    `  job:             ${s.jobName} (${s.jobId})`,
    `  checkpoint id:   ${s.checkpointId}`,
    `  created:         ${s.createdAt}`,
    `  total size:      ${formatBytes(s.totalBytes)} (${s.files} data file${s.files === 1 ? '' : 's'} + ${formatBytes(s.metadataBytes)} metadata)`,
    // Version 3: what this checkpoint wrote and what it refers to in earlier checkpoints' files.
    ...(s.writtenBytes === undefined
      ? []
      : [
          `  written:         ${formatBytes(s.writtenBytes)} (${plural(s.writtenFiles ?? 0, 'data file')} written by this snapshot)`,
          // A savepoint never refers outside its directory: its files not written are copies (a native savepoint, FORMAT.md 3.4).
          `  referred to:     ${formatBytes(s.referredBytes ?? 0)} (${plural(s.referredFiles ?? 0, 'data file')} of earlier checkpoints${s.kind === 'savepoint' ? ', copied into this directory' : ''})`,
        ]),
    `  entries:         ${s.entries}`,
    `  engine:          ${s.engine}`,
    '',
  ];
  const v3 = s.writtenBytes !== undefined;
  const split = (x: { writtenBytes?: number; referredBytes?: number }): string[] => (v3 ? [formatBytes(x.writtenBytes ?? 0), formatBytes(x.referredBytes ?? 0)] : []);
  let out = `${lines.join('\n')}\n`;
  if (!showStates) {
    // The backend column only when the snapshot records one (FORMAT.md 3.5): older files do not.
    const backends = s.operators.some((op) => op.stateBackend !== undefined);
    out += renderTable(
      style,
      ['uid', 'name', 'parallelism', 'max parallelism', ...(backends ? ['backend'] : []), 'states', 'entries', 'bytes', ...(v3 ? ['written', 'referred'] : [])],
      s.operators.map((op) => [op.uid, op.name, op.parallelism, op.maxParallelism, ...(backends ? [op.stateBackend ?? '-'] : []), op.states.length, op.entries, formatBytes(op.bytes), ...split(op)]),
      (backends ? [2, 3, 5, 6, 7] : [2, 3, 4, 5, 6]).concat(v3 ? (backends ? [8, 9] : [7, 8]) : []),
    );
    return out;
  }
  const rows = s.operators.flatMap((op) =>
    op.states.map((st) => [
      op.uid,
      st.name,
      st.scope,
      st.mode === undefined ? st.kind : `${st.kind} (${st.mode})`,
      st.schemaVersion,
      st.ttl ? `${st.ttl.ttlMs} ms` : '-',
      st.entries,
      formatBytes(st.bytes),
      ...split(st),
      st.keyGroups !== undefined ? `${st.keyGroups} key groups${st.blocks !== undefined && st.blocks !== st.keyGroups ? `, ${st.blocks} blocks` : ''}` : `${st.partitions?.length ?? 0} partitions`,
    ]),
  );
  const headers = ['operator', 'state', 'scope', 'kind', 'schema', 'ttl', 'entries', 'bytes', ...(v3 ? ['written', 'referred'] : []), 'layout'];
  out += renderTable(style, headers, rows, v3 ? [4, 6, 7, 8, 9] : [4, 6, 7]);
  return out;
}

async function printEntries(reader: SnapshotReader, s: SnapshotSummary, keysOnly: boolean, limit: number, ctx: CliContext): Promise<void> {
  let printed = 0;
  const emit = (line: object): boolean => {
    if (printed >= limit) return false;
    ctx.stdout.write(`${JSON.stringify(line)}\n`);
    printed += 1;
    return true;
  };
  for (const op of s.operators) {
    for (const state of op.states) {
      if (state.scope === 'keyed') {
        const show = valueView(reader, op.uid, state.name);
        for await (const batch of reader.readKeyed(op.uid, state.name)) {
          for (let i = 0; i < batch.keys.length; i++) {
            const line = { operator: op.uid, state: state.name, keyGroup: batch.keyGroup, key: toJson(batch.keys[i]) };
            if (!emit(keysOnly ? line : { ...line, value: toJson(show(batch.values[i])) })) return;
          }
        }
      } else if (!keysOnly || state.kind === 'broadcast') {
        for await (const batch of reader.readOperatorState(op.uid, state.name)) {
          for (let i = 0; i < batch.values.length; i++) {
            const base = { operator: op.uid, state: state.name, subtask: batch.subtask };
            const withKey = batch.keys === undefined ? base : { ...base, key: toJson(batch.keys[i]) };
            if (!emit(keysOnly ? withKey : { ...withKey, value: toJson(batch.values[i]) })) return;
          }
        }
      }
    }
  }
}

async function printKey(reader: SnapshotReader, s: SnapshotSummary, key: unknown, ctx: CliContext): Promise<number> {
  let found = 0;
  for (const op of s.operators) {
    for (const state of op.states) {
      if (state.scope !== 'keyed') continue;
      const hit = await reader.lookup(op.uid, state.name, key);
      if (hit === undefined) continue;
      found += 1;
      const value = valueView(reader, op.uid, state.name)(hit.value);
      ctx.stdout.write(`${JSON.stringify({ operator: op.uid, state: state.name, keyGroup: hit.keyGroup, key: toJson(key), value: toJson(value) })}\n`);
    }
  }
  if (found === 0) {
    ctx.stderr.write(`Key ${JSON.stringify(toJson(key))} not found in any keyed state of ${reader.store.location}.\n`);
    return ExitCode.finding;
  }
  return ExitCode.ok;
}

/** How a keyed state's values print: TTL pairs as `{value, lastAccess}` (FORMAT.md 7), others as they are. */
function valueView(reader: SnapshotReader, uid: string, name: string): (value: unknown) => unknown {
  const meta = reader.keyedState(uid, name);
  return hasTtlLayout(meta) ? (value) => readableTtlValue(meta.kind, value) : (value) => value;
}

function plural(n: number, noun: string): string {
  return `${n} ${noun}${n === 1 ? '' : 's'}`;
}
