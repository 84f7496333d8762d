/** `flink verify <path>`: exit 0 valid, 1 corrupt, 2 when it cannot check at all. */
import type { CommandEnv, CommonOptions } from '../cli.ts';
import { storeOptions } from '../config.ts';
import { ExitCode } from '../errors.ts';
import { verifySnapshot } from '../format/verify-snapshot.ts';
import { openSnapshotStore } from '../open-snapshot.ts';
import { formatBytes, styleFor } from '../output/style.ts';

export async function runVerify(path: string, options: CommonOptions, { ctx, config }: CommandEnv): Promise<number> {
  const report = await verifySnapshot(await openSnapshotStore(path, storeOptions(config)));
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
