/** The top of both job pages: name, state, times, the tabs and the action buttons. */
import type { JobDetails } from '../../engine/cluster/cluster-api.ts';
import type { JobActions } from '../actions.ts';
import { jobActions } from '../actions.ts';
import { get } from '../api.ts';
import { el, link, stateBadge } from '../dom.ts';
import { formatDuration, formatTime } from '../format.ts';

export interface JobHeader {
  readonly element: HTMLElement;
  show(job: JobDetails): void;
}

export function jobHeader(jobId: string, tab: 'overview' | 'checkpoints'): JobHeader {
  const title = el('h1', { id: 'job-name' }, jobId);
  const facts = el('dl', { class: 'facts' });
  const actions: JobActions = jobActions(jobId);
  const tabs = el(
    'nav',
    { class: 'tabs' },
    el('a', { href: `#/jobs/${jobId}`, class: tab === 'overview' ? 'active' : '' }, 'Overview'),
    el('a', { href: `#/jobs/${jobId}/checkpoints`, class: tab === 'checkpoints' ? 'active' : '' }, 'Checkpoints'),
  );
  void get<readonly { key: string; value: string }[]>('/jobmanager/config')
    .then((entries) => {
      const dir = entries.find((e) => e.key === 'execution.checkpointing.savepoint-dir' || e.key === 'state.savepoints.dir');
      if (dir !== undefined) actions.suggestDirectory(dir.value);
    })
    .catch(() => undefined);
  const element = el('header', { class: 'job-header' }, el('p', { class: 'crumbs' }, link('/', 'Overview'), ' / job'), title, facts, actions.element, tabs);
  return {
    element,
    show(job) {
      title.replaceChildren(job.name, ' ', stateBadge(job.state));
      title.dataset['state'] = job.state;
      const fact = (name: string, value: string | Node): Node[] => [el('dt', {}, name), el('dd', {}, value)];
      facts.replaceChildren(
        ...fact('Job ID', el('code', {}, job.jid)),
        ...fact('Start time', formatTime(job['start-time'])),
        ...fact(job['end-time'] > 0 ? 'Duration' : 'Running for', formatDuration(job.duration)),
        ...fact('Restarts', String(job['num-restarts'])),
        ...(job['failure-cause'] !== undefined ? fact('Failure cause', job['failure-cause']) : []),
      );
      actions.setJobState(job.state);
    },
  };
}
