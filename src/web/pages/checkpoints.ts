/**
 * `#/jobs/<id>/checkpoints`: counts, the latest snapshots (restored one included), duration and
 * size over time, the history, state size per operator of the latest checkpoint, the configuration.
 */
import type { CheckpointConfigInfo, CheckpointEntry, CheckpointStatistics, JobDetails, TaskCheckpointDetails } from '../../engine/cluster/cluster-api.ts';
import { RestError, get, jobPath } from '../api.ts';
import { bytesUnit } from '../chart-scale.ts';
import { lineChart } from '../checkpoint-chart.ts';
import { el, stateBadge, table } from '../dom.ts';
import { formatBytes, formatDuration, formatTime } from '../format.ts';
import type { Page } from '../page.ts';
import { jobHeader } from './job-header.ts';

/** The REST history holds the latest 10; the page keeps what it saw since it opened, up to this many. */
const KEPT = 200;

interface OperatorState {
  readonly name: string;
  readonly details: TaskCheckpointDetails | undefined;
}

function latestTable(stats: CheckpointStatistics): HTMLElement {
  const row = (what: string, e: CheckpointEntry | null): (string | Node)[] =>
    e === null ? [what, 'none', '-', '-', '-'] : [what, `#${e.id}`, formatTime(e.trigger_timestamp), formatBytes(e.state_size), e.external_path ?? '-'];
  const restored = stats.latest.restored;
  return table(
    ['', 'ID', 'Time', 'Size', 'Path'],
    [
      row('Latest completed', stats.latest.completed),
      row('Latest savepoint', stats.latest.savepoint),
      row('Latest failed', stats.latest.failed),
      restored === null
        ? ['Latest restored', 'none (the job did not start from a snapshot)', '-', '-', '-']
        : ['Latest restored', `#${restored.id} (${restored.is_savepoint ? 'savepoint' : 'checkpoint'})`, formatTime(restored.restore_timestamp), '-', restored.external_path],
    ],
    { id: 'latest-checkpoints' },
  );
}

function configTable(config: CheckpointConfigInfo): HTMLElement {
  const rows: [string, string][] = [
    ['Checkpointing mode', config.mode === 'exactly_once' ? 'Exactly Once' : 'At Least Once'],
    ['Interval', config.periodic ? formatDuration(config.interval) : 'periodic checkpoints off'],
    ['Timeout', formatDuration(config.timeout)],
    ['Minimum pause between checkpoints', formatDuration(config.min_pause)],
    ['Maximum concurrent checkpoints', String(config.max_concurrent)],
    ['Persist checkpoints externally', config.externalization.enabled ? (config.externalization.delete_on_cancellation ? 'Enabled (delete on cancellation)' : 'Enabled (retain on cancellation)') : 'Disabled'],
    ['State backend', config.state_backend],
    ['Checkpoint storage', config.checkpoint_storage],
    ['Unaligned checkpoints', config.unaligned_checkpoints ? 'Enabled' : 'Disabled'],
    ['Tolerable failed checkpoints', String(config.tolerable_failed_checkpoints)],
    ['Checkpoints after tasks finish', config.checkpoints_after_tasks_finish ? 'Enabled' : 'Disabled'],
  ];
  return table(['Option', 'Value'], rows, { id: 'checkpoint-config' });
}

export function checkpointsPage(jobId: string): Page {
  const base = jobPath(jobId);
  const header = jobHeader(jobId, 'checkpoints');
  const counts = el('p', { id: 'checkpoint-counts' });
  const latest = el('div', {});
  const charts = el('div', { class: 'charts', id: 'checkpoint-charts' });
  const history = el('div', {});
  const operators = el('div', {});
  const config = el('div', {});
  const element = el(
    'main',
    { id: 'checkpoints-page' },
    header.element,
    counts,
    el('h2', {}, 'Latest'),
    latest,
    el('h2', {}, 'Duration and size over time'),
    charts,
    el('h2', {}, 'History'),
    history,
    el('h2', {}, 'State size per operator'),
    operators,
    el('h2', {}, 'Configuration'),
    config,
  );
  const seen = new Map<number, CheckpointEntry>();
  let operatorsOf: { id: number; rows: OperatorState[] } | undefined;

  const operatorState = async (job: JobDetails, checkpointId: number): Promise<OperatorState[]> =>
    Promise.all(
      job.vertices.map(async (v) => {
        try {
          return { name: v.name, details: await get<TaskCheckpointDetails>(`${base}/checkpoints/details/${checkpointId}/subtasks/${v.id}`) };
        } catch (err) {
          // A checkpoint that fell out of the history since is a 404: shown as unknown, fetched again next time.
          if (err instanceof RestError && err.status === 404) return { name: v.name, details: undefined };
          throw err;
        }
      }),
    );

  return {
    title: 'Checkpoints',
    element,
    async refresh() {
      const [job, stats, conf] = await Promise.all([get<JobDetails>(base), get<CheckpointStatistics>(`${base}/checkpoints`), get<CheckpointConfigInfo>(`${base}/checkpoints/config`)]);
      header.show(job);
      counts.replaceChildren(
        `Triggered: ${stats.counts.total}  ·  In progress: ${stats.counts.in_progress}  ·  Completed: ${stats.counts.completed}  ·  Failed: ${stats.counts.failed}  ·  Restored: ${stats.counts.restored}`,
      );
      latest.replaceChildren(latestTable(stats));
      for (const entry of stats.history) seen.set(entry.id, entry);
      for (const id of [...seen.keys()].sort((a, b) => a - b).slice(0, Math.max(0, seen.size - KEPT))) seen.delete(id);
      const done = [...seen.values()].filter((e) => e.status === 'COMPLETED');
      if (done.length === 0) {
        charts.replaceChildren(el('p', { class: 'empty' }, 'No completed checkpoint yet.'));
      } else {
        const points = (value: (e: CheckpointEntry) => number, format: (v: number) => string): { x: number; y: number; label: string }[] =>
          done.map((e) => ({ x: e.trigger_timestamp, y: value(e), label: `#${e.id} ${format(value(e))}` }));
        charts.replaceChildren(
          lineChart('Checkpoint duration', [{ name: 'End to end duration', kind: 'duration', points: points((e) => e.end_to_end_duration, formatDuration) }], formatDuration),
          lineChart(
            'Checkpoint size',
            [
              { name: 'Checkpointed size', kind: 'checkpointed', points: points((e) => e.checkpointed_size, formatBytes) },
              { name: 'Full state size', kind: 'full', points: points((e) => e.state_size, formatBytes) },
            ],
            formatBytes,
            bytesUnit,
          ),
        );
      }
      history.replaceChildren(
        stats.history.length === 0
          ? el('p', { class: 'empty' }, 'No checkpoint yet.')
          : table(
              // As Flink's web UI: Acknowledged is subtasks (acknowledged / all), the time is the latest acknowledgement's.
              ['ID', 'Status', 'Type', 'Acknowledged', 'Trigger time', 'Latest acknowledgement', 'End to end duration', 'Checkpointed size', 'Full state size', 'Path'],
              stats.history.map((e) => [
                String(e.id),
                stateBadge(e.status),
                e.is_savepoint ? 'Savepoint' : 'Checkpoint',
                e.num_subtasks === undefined ? '-' : `${e.num_acknowledged_subtasks ?? 0} / ${e.num_subtasks}`,
                formatTime(e.trigger_timestamp),
                formatTime(e.latest_ack_timestamp),
                formatDuration(e.end_to_end_duration),
                formatBytes(e.checkpointed_size),
                formatBytes(e.state_size),
                // A discarded checkpoint's files are gone: its path is no longer one to restore from.
                e.failure_message ?? (e.external_path === undefined ? '-' : e.discarded ? `${e.external_path} (discarded)` : e.external_path),
              ]),
              { id: 'checkpoint-history' },
            ),
      );
      const latestId = stats.latest.completed?.id;
      if (latestId === undefined) {
        operators.replaceChildren(el('p', { class: 'empty' }, 'No completed checkpoint yet.'));
      } else {
        if (operatorsOf?.id !== latestId || operatorsOf.rows.some((r) => r.details === undefined)) operatorsOf = { id: latestId, rows: await operatorState(job, latestId) };
        operators.replaceChildren(
          el('p', { class: 'note' }, `From checkpoint #${operatorsOf.id}.`),
          table(
            ['Operator chain', 'Full state size', 'Checkpointed size', 'Acknowledged subtasks', 'Sync / async (max)'],
            operatorsOf.rows.map((r) =>
              r.details === undefined
                ? [r.name, '-', '-', '-', '-']
                : [
                    r.name,
                    formatBytes(r.details.state_size),
                    formatBytes(r.details.checkpointed_size),
                    `${r.details.num_acknowledged_subtasks} / ${r.details.num_subtasks}`,
                    `${formatDuration(r.details.summary.checkpoint_duration.sync.max)} / ${formatDuration(r.details.summary.checkpoint_duration.async.max)}`,
                  ],
            ),
            { id: 'operator-state' },
          ),
        );
      }
      config.replaceChildren(configTable(conf));
    },
  };
}
