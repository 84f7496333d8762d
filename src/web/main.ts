/**
 * The dashboard's entry point: picks the page from the address's hash (`#/`, `#/jobs/<id>`,
 * `#/jobs/<id>/checkpoints`, as Flink's web UI routes), and refreshes it every few seconds
 * (the JobManager's `refresh-interval` from GET /config).
 */
import './style.css';
import type { DashboardConfiguration } from '../engine/cluster/cluster-api.ts';
import { get } from './api.ts';
import { el, link } from './dom.ts';
import type { Page } from './page.ts';
import { checkpointsPage } from './pages/checkpoints.ts';
import { jobPage } from './pages/job.ts';
import { overviewPage } from './pages/overview.ts';

const DEFAULT_REFRESH_MS = 3000;

function route(hash: string): Page | string {
  const path = hash.replace(/^#/, '') || '/';
  if (path === '/') return overviewPage();
  const job = /^\/jobs\/([0-9a-f]{32})(\/checkpoints)?$/.exec(path);
  if (job !== null) return job[2] === undefined ? jobPage(job[1] as string) : checkpointsPage(job[1] as string);
  return `No page at ${path}.`;
}

function start(): void {
  const root = document.getElementById('app');
  if (root === null) return;
  const status = el('span', { id: 'refresh-status', 'data-state': 'loading' }, 'Loading…');
  const version = el('span', { class: 'version' });
  const content = el('div', { id: 'content' });
  root.replaceChildren(el('nav', { class: 'top' }, link('/', el('strong', {}, 'tsflink')), ' ', link('/', 'Overview'), version, status), content);
  let refreshMs = DEFAULT_REFRESH_MS;
  let generation = 0;
  let timer: ReturnType<typeof setTimeout> | undefined;

  void get<DashboardConfiguration>('/config')
    .then((config) => {
      if (config['refresh-interval'] >= 500) refreshMs = config['refresh-interval'];
      version.textContent = ` version ${config['flink-version']} (${config['flink-revision']})`;
    })
    .catch(() => undefined);

  const open = (): void => {
    generation += 1;
    const mine = generation;
    if (timer !== undefined) clearTimeout(timer);
    const page = route(location.hash);
    if (typeof page === 'string') {
      content.replaceChildren(el('main', {}, el('h1', {}, 'Not found'), el('p', {}, page, ' ', link('/', 'Back to the overview'))));
      status.textContent = '';
      return;
    }
    document.title = `${page.title} - tsflink dashboard`;
    content.replaceChildren(page.element);
    const tick = async (): Promise<void> => {
      try {
        await page.refresh();
        if (mine !== generation) return;
        status.dataset['state'] = 'ok';
        status.textContent = `Updated ${new Date().toLocaleTimeString()}`;
      } catch (err) {
        if (mine !== generation) return;
        status.dataset['state'] = 'error';
        status.textContent = err instanceof Error ? err.message : String(err);
      }
      if (mine === generation) timer = setTimeout(() => void tick(), refreshMs);
    };
    void tick();
  };
  window.addEventListener('hashchange', open);
  open();
}

start();
