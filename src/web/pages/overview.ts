/** `#/`: the cluster overview (TaskManagers, slots, jobs by state) and the jobs, running and completed. */
import type { ClusterOverview, JobOverview } from '../../engine/cluster/cluster-api.ts';
import { get } from '../api.ts';
import { el, link, stateBadge, table } from '../dom.ts';
import { formatDuration, formatTime } from '../format.ts';
import type { Page } from '../page.ts';

/** Flink's globally terminal states (the engine's TERMINAL_STATES; not imported, to keep Node code out of the bundle). */
const ENDED: ReadonlySet<string> = new Set(['FAILED', 'CANCELED', 'FINISHED']);

function card(label: string, value: string | number, id: string): HTMLElement {
  return el('div', { class: 'card', id }, el('div', { class: 'card-value' }, value), el('div', { class: 'card-label' }, label));
}

/** The fields of Flink's `TaskManagerInfo` shown here; none exist yet (see the README's REST API). */
interface TaskManagerInfo {
  readonly id: string;
  readonly path?: string;
  readonly slotsNumber?: number;
  readonly freeSlots?: number;
  readonly timeSinceLastHeartbeat?: number;
}

function taskManagersTable(taskManagers: readonly TaskManagerInfo[]): HTMLElement {
  if (taskManagers.length === 0) {
    return el('p', { class: 'empty', id: 'taskmanagers' }, "No TaskManagers: jobs wait for their slots (slot.request.timeout). Start one with 'flink taskmanager'.");
  }
  return table(
    ['ID', 'Path', 'Slots', 'Free slots', 'Last heartbeat'],
    taskManagers.map((t) => [el('code', {}, t.id), t.path ?? '-', String(t.slotsNumber ?? '-'), String(t.freeSlots ?? '-'), t.timeSinceLastHeartbeat === undefined ? '-' : formatTime(t.timeSinceLastHeartbeat)]),
    { id: 'taskmanagers' },
  );
}

function jobsTable(jobs: readonly JobOverview[], id: string, empty: string): HTMLElement {
  if (jobs.length === 0) return el('p', { class: 'empty', id }, empty);
  return table(
    ['Job name', 'Start time', 'Duration', 'End time', 'Tasks', 'Status', 'Job ID'],
    jobs.map((j) => [
      link(`/jobs/${j.jid}`, j.name),
      formatTime(j['start-time']),
      formatDuration(j.duration),
      j['end-time'] > 0 ? formatTime(j['end-time']) : '-',
      `${j.tasks.running} running / ${j.tasks.total}`,
      stateBadge(j.state),
      el('code', {}, j.jid),
    ]),
    { id, class: 'jobs' },
  );
}

export function overviewPage(): Page {
  const cards = el('section', { class: 'cards' });
  const running = el('section', {});
  const completed = el('section', {});
  const taskManagers = el('section', {});
  const element = el(
    'main',
    { id: 'overview-page' },
    el('h1', {}, 'Cluster overview'),
    cards,
    el('h2', {}, 'Running jobs'),
    running,
    el('h2', {}, 'Completed jobs'),
    completed,
    el('h2', {}, 'TaskManagers'),
    taskManagers,
  );
  return {
    title: 'Overview',
    element,
    async refresh() {
      const [overview, jobs, tms] = await Promise.all([
        get<ClusterOverview>('/overview'),
        get<{ jobs: readonly JobOverview[] }>('/jobs/overview'),
        get<{ taskmanagers: readonly TaskManagerInfo[] }>('/taskmanagers'),
      ]);
      cards.replaceChildren(
        card('TaskManagers', overview.taskmanagers, 'card-taskmanagers'),
        card('Slots available / total', `${overview['slots-available']} / ${overview['slots-total']}`, 'card-slots'),
        card('Running jobs', overview['jobs-running'], 'card-running'),
        card('Finished jobs', overview['jobs-finished'], 'card-finished'),
        card('Cancelled jobs', overview['jobs-cancelled'], 'card-cancelled'),
        card('Failed jobs', overview['jobs-failed'], 'card-failed'),
        card('Version', overview['flink-version'], 'card-version'),
      );
      const ended = (j: JobOverview): boolean => ENDED.has(j.state);
      running.replaceChildren(jobsTable(jobs.jobs.filter((j) => !ended(j)), 'running-jobs', 'No running jobs.'));
      completed.replaceChildren(jobsTable(jobs.jobs.filter(ended), 'completed-jobs', 'No completed jobs.'));
      taskManagers.replaceChildren(taskManagersTable(tms.taskmanagers));
    },
  };
}
