/**
 * The job's savepoint, stop and cancel buttons: each calls the REST API as `flink savepoint`,
 * `flink stop` and `flink cancel` do, and shows the asynchronous operation's result by polling
 * its trigger id.
 */
import type { AsyncOperation, FailureCause, TriggerResponse } from '../engine/cluster/cluster-api.ts';
import { get, jobPath, patch, post } from './api.ts';
import { el } from './dom.ts';
import { checkTargetDirectory } from './savepoint-target.ts';

const POLL_MS = 500;

export interface JobActions {
  readonly element: HTMLElement;
  /** Enables the buttons while the job runs. */
  setJobState(state: string): void;
  /** Fills the directory field with the cluster's default, unless the user typed one. */
  suggestDirectory(dir: string): void;
}

type Outcome = { readonly status: 'IN_PROGRESS' | 'COMPLETED' | 'FAILED'; readonly text: string };

export function jobActions(jobId: string): JobActions {
  const base = jobPath(jobId);
  const dir = el('input', { id: 'savepoint-dir', type: 'text', size: 48, placeholder: '/path/to/savepoints or s3://bucket/path', 'aria-label': 'Savepoint target directory', autocomplete: 'off', spellcheck: 'false' });
  const savepoint = el('button', { id: 'trigger-savepoint', type: 'button' }, 'Trigger savepoint');
  const stop = el('button', { id: 'stop-job', type: 'button' }, 'Stop with savepoint');
  const cancel = el('button', { id: 'cancel-job', type: 'button', class: 'danger' }, 'Cancel job');
  const result = el('output', { id: 'action-result', 'data-status': 'IDLE' });
  let busy = false;
  let running = false;
  let typed = false;
  const buttons = [savepoint, stop, cancel];
  const enable = (): void => buttons.forEach((b) => (b.disabled = busy || !running));
  const show = (o: Outcome): void => {
    result.dataset['status'] = o.status;
    result.textContent = o.text;
  };
  const target = (): string | undefined | null => {
    const check = checkTargetDirectory(dir.value);
    if (!check.ok) {
      show({ status: 'FAILED', text: check.reason });
      return null;
    }
    return check.value;
  };
  const run = async (what: string, start: () => Promise<Outcome | string>): Promise<void> => {
    busy = true;
    enable();
    show({ status: 'IN_PROGRESS', text: `${what}: requested…` });
    try {
      const started = await start();
      if (typeof started !== 'string') {
        show(started);
        return;
      }
      show({ status: 'IN_PROGRESS', text: `${what}: in progress (trigger ${started})…` });
      show(await poll(what, started));
    } catch (err) {
      show({ status: 'FAILED', text: `${what} failed: ${err instanceof Error ? err.message : String(err)}` });
    } finally {
      busy = false;
      enable();
    }
  };
  const poll = async (what: string, triggerId: string): Promise<Outcome> => {
    for (;;) {
      const answer = await get<AsyncOperation<{ readonly location: string }>>(`${base}/savepoints/${encodeURIComponent(triggerId)}`);
      if (answer.status.id === 'COMPLETED' && 'operation' in answer) {
        const op = answer.operation;
        if ('failure-cause' in op) return { status: 'FAILED', text: `${what} failed: ${(op['failure-cause'] as FailureCause).message}` };
        return { status: 'COMPLETED', text: `${what} completed: ${op.location}` };
      }
      await new Promise((resolve) => setTimeout(resolve, POLL_MS));
    }
  };
  dir.addEventListener('input', () => (typed = true));
  savepoint.addEventListener('click', () => {
    const dirValue = target();
    if (dirValue === null) return;
    void run('Savepoint', async () => {
      const body = dirValue === undefined ? {} : { 'target-directory': dirValue };
      return (await post<TriggerResponse>(`${base}/savepoints`, body))['request-id'];
    });
  });
  stop.addEventListener('click', () => {
    const dirValue = target();
    if (dirValue === null) return;
    if (!window.confirm('Stop the job with a savepoint? It ends once the savepoint completes.')) return;
    void run('Stop', async () => {
      const body = dirValue === undefined ? {} : { targetDirectory: dirValue };
      return (await post<TriggerResponse>(`${base}/stop`, body))['request-id'];
    });
  });
  cancel.addEventListener('click', () => {
    if (!window.confirm('Cancel the job? It ends without a savepoint.')) return;
    void run('Cancel', async () => {
      await patch(`${base}?mode=cancel`);
      return { status: 'COMPLETED', text: 'Cancel requested: the job is being cancelled.' };
    });
  });
  enable();
  const element = el(
    'section',
    { class: 'actions', 'aria-label': 'Job actions' },
    el('label', { for: 'savepoint-dir' }, 'Savepoint directory'),
    dir,
    savepoint,
    stop,
    cancel,
    result,
  );
  return {
    element,
    setJobState(state) {
      running = state === 'RUNNING';
      enable();
    },
    suggestDirectory(value) {
      if (!typed && dir.value === '') dir.value = value;
    },
  };
}
