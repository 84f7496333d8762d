/** `#/jobs/<id>`: the job graph, its vertices with records in and out, and why attempts failed. */
import type { JobDetails, JobExceptions, JobPlanInfo } from '../../engine/cluster/cluster-api.ts';
import { get, jobPath } from '../api.ts';
import { el, stateBadge, table } from '../dom.ts';
import { formatCount, formatTime } from '../format.ts';
import { jobGraph } from '../job-graph.ts';
import type { Page } from '../page.ts';
import { jobHeader } from './job-header.ts';

function exceptionsSection(exceptions: JobExceptions): HTMLElement {
  const entries = exceptions.exceptionHistory.entries;
  if (entries.length === 0) return el('p', { class: 'empty', id: 'no-exceptions' }, 'No failures: no attempt of this job failed.');
  return el(
    'div',
    { id: 'exception-list' },
    ...entries.map((e, i) =>
      el(
        'details',
        { class: 'exception', open: i === 0 ? '' : undefined },
        el('summary', {}, `${formatTime(e.timestamp)}  ${e.exceptionName}${e.taskName === null ? '' : ` in ${e.taskName}`}`),
        el('pre', {}, e.stacktrace),
      ),
    ),
    exceptions.exceptionHistory.truncated ? el('p', { class: 'note' }, 'Older failures are not kept.') : null,
  );
}

export function jobPage(jobId: string): Page {
  const base = jobPath(jobId);
  const header = jobHeader(jobId, 'overview');
  const graph = el('div', { class: 'graph', id: 'job-graph' });
  const vertices = el('div', {});
  const exceptions = el('div', {});
  const element = el(
    'main',
    { id: 'job-page' },
    header.element,
    el('h2', {}, 'Job graph'),
    graph,
    el('h2', {}, 'Vertices'),
    vertices,
    el('h2', {}, 'Exceptions'),
    exceptions,
  );
  return {
    title: 'Job',
    element,
    async refresh() {
      const [job, plan, failures] = await Promise.all([get<JobDetails>(base), get<JobPlanInfo>(`${base}/plan`), get<JobExceptions>(`${base}/exceptions`)]);
      header.show(job);
      graph.replaceChildren(jobGraph(plan, job));
      vertices.replaceChildren(
        table(
          ['Name', 'Status', 'Parallelism', 'Records received', 'Records sent'],
          job.vertices.map((v) => [v.name, stateBadge(v.status), String(v.parallelism), formatCount(v.metrics['read-records']), formatCount(v.metrics['write-records'])]),
          { id: 'vertices' },
        ),
      );
      exceptions.replaceChildren(exceptionsSection(failures));
    },
  };
}
