/** `flink list [-r|-s|-a]`: the cluster's jobs, in Flink's layout, or as JSON. */
import type { ClusterOptions, CommandEnv } from '../cli.ts';
import type { JobOverview } from '../engine/cluster/cluster-api.ts';
import { TERMINAL_STATES } from '../engine/cluster/cluster-api.ts';
import { clusterClient } from './cluster-client.ts';

export interface ListOptions extends ClusterOptions {
  readonly running?: boolean;
  readonly scheduled?: boolean;
  readonly all?: boolean;
}

const FOOTER = '--------------------------------------------------------------';
const SCHEDULED: ReadonlySet<string> = new Set(['INITIALIZING', 'CREATED']);

export async function runList(options: ListOptions, env: CommandEnv): Promise<number> {
  const client = clusterClient(options, env.config);
  const out = env.ctx.stdout;
  if (options.json !== true) out.write('Waiting for response...\n');
  const { jobs } = await client.jobsOverview();
  const all = options.all === true;
  // No flag: running and scheduled, as Flink.
  const showRunning = all || options.running === true || options.scheduled !== true;
  const showScheduled = all || options.scheduled === true || options.running !== true;
  const running = jobs.filter((j) => !TERMINAL_STATES.has(j.state) && !SCHEDULED.has(j.state));
  const scheduled = jobs.filter((j) => SCHEDULED.has(j.state));
  const terminated = jobs.filter((j) => TERMINAL_STATES.has(j.state));
  if (options.json === true) {
    const shown = [...(showRunning ? running : []), ...(showScheduled ? scheduled : []), ...(all ? terminated : [])];
    out.write(`${JSON.stringify({ jobs: shown })}\n`);
    return 0;
  }
  const section = (title: string, list: readonly JobOverview[], none: string | undefined): void => {
    if (list.length === 0) {
      if (none !== undefined) out.write(`${none}\n`);
      return;
    }
    out.write(`${title}\n`);
    for (const j of [...list].sort(byStartThenState)) out.write(`${formatDate(j['start-time'])} : ${j.jid} : ${j.name} (${j.state})\n`);
    out.write(`${FOOTER}\n`);
  };
  if (showRunning) section('------------------ Running/Restarting Jobs -------------------', running, 'No running jobs.');
  if (showScheduled) section('----------------------- Scheduled Jobs -----------------------', scheduled, 'No scheduled jobs.');
  if (all) section('---------------------- Terminated Jobs -----------------------', terminated, undefined);
  return 0;
}

/**
 * Flink's order (CliFrontend.sortJobStatusMessages): grouped by state name, case-insensitively,
 * then a stable sort by start time, so jobs started in the same millisecond come in state order.
 */
function byStartThenState(a: JobOverview, b: JobOverview): number {
  const x = a.state.toUpperCase();
  const y = b.state.toUpperCase();
  return a['start-time'] - b['start-time'] || (x < y ? -1 : x > y ? 1 : 0);
}

/** Flink's `dd.MM.yyyy HH:mm:ss`, in local time. */
export function formatDate(ms: number): string {
  const d = new Date(ms);
  const p = (n: number): string => String(n).padStart(2, '0');
  return `${p(d.getDate())}.${p(d.getMonth() + 1)}.${d.getFullYear()} ${p(d.getHours())}:${p(d.getMinutes())}:${p(d.getSeconds())}`;
}
