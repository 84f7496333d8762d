/** `flink verify <path>`: exit 0 valid, 1 corrupt, 2 when it cannot check at all. */
import type { CommandEnv, CommonOptions } from '../cli.ts';
import { storeOptions } from '../config.ts';
import { ExitCode } from '../errors.ts';
import { SnapshotReader } from '../format/snapshot-reader.ts';
import { type VerifyReport, verifySnapshot } from '../format/verify-snapshot.ts';
import { openSnapshotStore } from '../open-snapshot.ts';
import { Progress, type ProgressTotal, progressEnabled } from '../output/progress.ts';
import type { ObjectStore } from '../storage/object-store.ts';
import { formatBytes, styleFor } from '../output/style.ts';

export async function runVerify(path: string, options: CommonOptions, { ctx, config }: CommandEnv): Promise<number> {
  const store = await openSnapshotStore(path, storeOptions(config));
  const progress = new Progress({ out: ctx.stderr, enabled: progressEnabled(ctx.stderr, options.json), now: () => performance.now(), label: 'verify', total: await totalOf(store) });
  let report: VerifyReport;
  try {
    report = await verifySnapshot(store, { onProgress: (entries, bytes) => progress.update(entries, bytes) });
  } finally {
    progress.done();
  }
  if (options.json === true) {
    ctx.stdout.write(`${JSON.stringify(report, null, 2)}\n`);
  } else {
    const style = styleFor(ctx.stdout, ctx);
    for (const p of report.problems) {
      ctx.stdout.write(`${style.red('CORRUPT')} ${p.file}${p.offset === undefined ? '' : ` at offset ${p.offset}`}: ${p.message}\n`);
    }
    const c = report.checked;
    const what = `${c.files} data file(s), ${c.blocks} block(s), ${c.entries} entries, ${formatBytes(c.bytes)}`;
    ctx.stdout.write(
      report.valid
        ? `${style.green('OK')} ${report.location}: ${report.kind} in format version ${report.formatVersion}; checked ${what}.\n`
        : `${report.problems.length} problem(s) in ${report.location}; checked ${what}.\n`,
    );
  }
  return report.valid ? ExitCode.ok : ExitCode.finding;
}

/** Entries and block bytes the metadata lists, for the progress line; unknown when it cannot be read (verify reports why). */
async function totalOf(store: ObjectStore): Promise<ProgressTotal> {
  try {
    const states = (await SnapshotReader.open(store)).metadata.operators.flatMap((op) => [...op.keyedStates, ...op.operatorStates]);
    return { entries: states.reduce((n, s) => n + s.entries, 0), bytes: states.reduce((n, s) => n + s.bytes, 0) };
  } catch {
    return { entries: 0 };
  }
}
