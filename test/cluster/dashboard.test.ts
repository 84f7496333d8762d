/**
 * The web dashboard in a real browser against a real cluster: headless Chromium opens each page
 * while the example job runs (held open by --hold-until), finds the job, its graph, checkpoints
 * and charts, triggers a savepoint that lands on disk, and cancels the job, all through the
 * page's own buttons. Screenshots of each step go to test-artifacts/dashboard/.
 */
import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { launchChromium } from '../support/chromium.ts';
import { ClusterProbe } from '../support/cluster-probes.ts';
import { ROOT, runFlink } from '../support/run-flink.ts';
import { type TestCluster, startTestCluster, submittedJobId } from '../support/test-cluster.ts';

const JOB = join(ROOT, 'examples', 'order-totals.ts');
const ARTIFACTS = join(ROOT, 'test-artifacts', 'dashboard');
/** Page conditions wait this long: each refresh is a few REST calls, but the machine may be busy. */
const WAIT = { timeout: 45_000 };
/** Subtask 2 of 2 throws at its first record, with markup in the message; no restarts, so the job fails. */
const THROWS = `import { DataGeneratorSource } from ${JSON.stringify(join(ROOT, 'src', 'index.ts'))};
function explode(w: string): string {
  throw new Error('boom <b>not bold</b> at ' + w);
}
export default (env: any): void => {
  env
    .fromSource(new DataGeneratorSource({ count: 400, generate: (i: number) => 'w' + i }), 'words')
    .map({ subtask: -1, open(ctx: { subtaskIndex: number }) { this.subtask = ctx.subtaskIndex; }, map(w: string) { return this.subtask === 1 ? explode(w) : w; } })
    .name('explode')
    .sinkTo({ invoke() {} });
};
`;
/** The job's name is user data: markup in it must show as text and run nothing. */
const NAME = 'order-totals <img src=x onerror="window.pwned=1"><script>window.pwned=2</script>';

let browser: Browser;
let cluster: TestCluster;
let probe: ClusterProbe;
let page: Page;
let jobId: string;
let release: string;
const problems: string[] = [];

beforeAll(async () => {
  mkdirSync(ARTIFACTS, { recursive: true });
  // The browser first: if it cannot start, that is the failure, before a cluster is started.
  browser = await launchChromium();
  cluster = await startTestCluster();
  probe = new ClusterProbe(cluster.url);
  release = join(cluster.scratch, 'release');
  // The cluster's -D flags go before the job file: everything after it is the job's own arguments.
  const submitted = await runFlink(['run', ...cluster.defines, '-d', '-p', '2', '-D', 'execution.checkpointing.interval=300ms', '-D', `pipeline.name=${NAME}`, JOB, '--output', join(cluster.scratch, 'out'), '--records', '2000', '--hold-until', release], { cwd: cluster.scratch });
  expect(submitted.code, submitted.stderr).toBe(0);
  jobId = submittedJobId(submitted.stdout);
  await probe.waitForCheckpoints(jobId, 2);
  page = await browser.newPage({ viewport: { width: 1400, height: 1000 } });
  page.on('pageerror', (err) => problems.push(`page error: ${err.message}`));
  page.on('console', (message) => {
    // A Content-Security-Policy violation or a script error is a bug of the page; a failed REST call is shown in it.
    if (message.type() === 'error' && !message.text().startsWith('Failed to load resource')) problems.push(`console: ${message.text()}`);
  });
}, 180_000);

afterAll(async () => {
  await browser?.close();
  if (release !== undefined) writeFileSync(release, '');
  await cluster?.stop();
});

async function shot(name: string): Promise<void> {
  await page.screenshot({ path: join(ARTIFACTS, `${name}.png`), fullPage: true });
}

it('shows the cluster overview with the running job', async () => {
  await page.goto(`${cluster.url}/`);
  const row = page.locator('#running-jobs tbody tr', { hasText: jobId });
  await row.waitFor(WAIT);
  const cells = await row.locator('td').allInnerTexts();
  expect(cells[0]).toBe(NAME);
  expect(cells.slice(3)).toEqual(['-', '6 running / 6', 'RUNNING', jobId]);
  expect(await row.locator('img, script').count()).toBe(0);
  // The cluster's one TaskManager (taskmanager.count's default) of 2 slots, both held by the job at -p 2.
  expect(await page.locator('#card-taskmanagers .card-value').innerText()).toBe('1');
  expect(await page.locator('#card-running .card-value').innerText()).toBe('1');
  expect(await page.locator('#completed-jobs').innerText()).toBe('No completed jobs.');
  const tms = page.locator('#taskmanagers tbody tr');
  expect(await tms.count()).toBe(1);
  expect((await tms.first().locator('td').allInnerTexts()).slice(2, 4)).toEqual(['2', '0']);
  await shot('1-overview');
}, 60_000);

it('shows the job graph with operator names, parallelism, records and ship strategies', async () => {
  await page.locator('#running-jobs a', { hasText: 'order-totals' }).click();
  await page.locator('#job-name[data-state="RUNNING"]', { hasText: 'order-totals' }).waitFor(WAIT);
  expect(page.url()).toBe(`${cluster.url}/#/jobs/${jobId}`);
  expect(await page.locator('#job-name').innerText()).toBe(`${NAME} RUNNING`);
  expect(await page.locator('#job-name img, #job-name script').count()).toBe(0);
  expect(await page.evaluate(() => (globalThis as { pwned?: number }).pwned)).toBeUndefined();
  const vertices = page.locator('#job-graph svg g.vertex');
  await vertices.nth(2).waitFor(WAIT);
  expect(await vertices.count()).toBe(3);
  const boxes = await vertices.allTextContents();
  expect(boxes[0]).toContain('Source: orders');
  expect(boxes[1]).toContain('Keyed Process');
  expect(boxes[2]).toContain('Sink: Sink');
  for (const box of boxes) expect(box).toMatch(/Parallelism: 2Records in: [\d,]+ {2}out: [\d,]+/);
  expect(await page.locator('#job-graph svg g.edge text').allTextContents()).toEqual(['HASH', 'HASH']);
  // The source's 2,000 generated orders have all gone out by the time two checkpoints completed.
  await page.locator('#vertices tbody tr', { hasText: 'Keyed Process' }).filter({ hasText: '2,000' }).first().waitFor(WAIT);
  expect(await page.locator('#vertices tbody tr').count()).toBe(3);
  expect(await page.locator('#no-exceptions').innerText()).toBe('No failures: no attempt of this job failed.');
  await shot('2-job');
}, 60_000);

it('shows the checkpoint history, the charts with a point per checkpoint, state per operator and the configuration', async () => {
  await page.locator('nav.tabs a', { hasText: 'Checkpoints' }).click();
  // The newest completed one: a checkpoint in flight (every 300 ms) may head the history as IN_PROGRESS.
  const completed = page.locator('#checkpoint-history tbody tr', { hasText: 'COMPLETED' }).first();
  await completed.waitFor(WAIT);
  const first = await completed.locator('td').allInnerTexts();
  expect(first[0]).toMatch(/^\d+$/);
  expect(first.slice(1, 3)).toEqual(['COMPLETED', 'Checkpoint']);
  // Three vertices at parallelism 2, every subtask acknowledged.
  expect(first[3]).toBe('6 / 6');
  expect(first[9]).toContain(join(cluster.workDir, 'checkpoints', jobId, `chk-${first[0]}`));
  // One retained checkpoint (the default): an older completed one was subsumed, its files deleted.
  const older = page.locator('#checkpoint-history tbody tr', { hasText: 'COMPLETED' }).nth(1);
  await older.waitFor(WAIT);
  const subsumed = await older.locator('td').allInnerTexts();
  expect(subsumed[9]).toBe(`file:${join(cluster.workDir, 'checkpoints', jobId, `chk-${subsumed[0]}`)} (discarded)`);
  const charts = page.locator('#checkpoint-charts svg.chart');
  expect(await charts.count()).toBe(2);
  expect(await charts.nth(0).getAttribute('aria-label')).toBe('Checkpoint duration');
  expect(await charts.nth(0).locator('circle.point').count()).toBeGreaterThanOrEqual(2);
  expect(await charts.nth(1).locator('circle.point.checkpointed').count()).toBeGreaterThanOrEqual(2);
  expect(await charts.nth(0).locator('polyline.line').getAttribute('points')).toMatch(/^[\d.]+,[\d.]+( [\d.]+,[\d.]+)+$/);
  const operators = page.locator('#operator-state tbody tr');
  await operators.nth(2).waitFor(WAIT);
  const keyed = await operators.filter({ hasText: 'Keyed Process' }).locator('td').allInnerTexts();
  expect(keyed[1]).toMatch(/^[\d.]+ (B|KiB|MiB)$/);
  expect(keyed[3]).toBe('2 / 2');
  expect(await page.locator('#checkpoint-config').innerText()).toContain('Exactly Once');
  expect(await page.locator('#checkpoint-config').innerText()).toMatch(/Interval\s+300 ms/);
  await shot('3-checkpoints');
}, 60_000);

it('refuses a relative savepoint directory before sending, then takes a savepoint with the button', async () => {
  await page.locator('#savepoint-dir').fill('relative/savepoints');
  await page.locator('#trigger-savepoint').click();
  await page.locator('#action-result[data-status="FAILED"]').waitFor(WAIT);
  expect(await page.locator('#action-result').innerText()).toBe('Give an absolute directory (/path, file:///path) or an object store URI (s3://bucket/path).');

  const target = join(cluster.scratch, 'savepoints');
  await page.locator('#savepoint-dir').fill(target);
  await page.locator('#trigger-savepoint').click();
  await page.locator('#action-result[data-status="COMPLETED"]').waitFor({ timeout: 60_000 });
  const text = await page.locator('#action-result').innerText();
  const location = /^Savepoint completed: (?:file:)?(\/\S+)$/.exec(text)?.[1];
  expect(location, text).toBeDefined();
  expect(location!.startsWith(`${target}/savepoint-`), location).toBe(true);
  expect(existsSync(join(location!, '_metadata')), `${location}/_metadata`).toBe(true);
  // The next refresh lists it as the latest savepoint.
  await page.locator('#latest-checkpoints tr', { hasText: 'Latest savepoint' }).filter({ hasText: location! }).waitFor(WAIT);
  await shot('4-savepoint');
}, 90_000);

it('cancels the job with the button', async () => {
  page.once('dialog', (dialog) => void dialog.accept());
  await page.locator('#cancel-job').click();
  await page.locator('#job-name[data-state="CANCELED"]').waitFor({ timeout: 60_000 });
  expect((await probe.get<{ state: string }>(`/jobs/${jobId}`))?.state).toBe('CANCELED');
  expect(await page.locator('#cancel-job').isDisabled()).toBe(true);
  await shot('5-canceled');
  await page.locator('nav.top a', { hasText: 'Overview' }).click();
  await page.locator('#completed-jobs tbody tr', { hasText: jobId }).filter({ hasText: 'CANCELED' }).waitFor(WAIT);
  expect(await page.locator('#card-cancelled .card-value').innerText()).toBe('1');
  await shot('6-overview-after-cancel');
  expect(await page.evaluate(() => (globalThis as { pwned?: number }).pwned)).toBeUndefined();
  expect(problems).toEqual([]);
}, 90_000);

it("shows a failed job's exceptions with the task and the user's stack trace, as text", async () => {
  const jobFile = join(cluster.scratch, 'throws.mts');
  writeFileSync(jobFile, THROWS);
  const submitted = await runFlink(['run', ...cluster.defines, '-d', '-p', '2', '-D', 'restart-strategy.type=none', jobFile], { cwd: cluster.scratch });
  expect(submitted.code, submitted.stderr).toBe(0);
  const failed = submittedJobId(submitted.stdout);
  await probe.waitForState(failed, ['FAILED']);
  await page.goto(`${cluster.url}/#/jobs/${failed}`);
  await page.locator('#job-name[data-state="FAILED"]').waitFor(WAIT);
  const entry = page.locator('#exception-list details.exception').first();
  await entry.waitFor(WAIT);
  expect(await entry.locator('summary').textContent()).toMatch(/^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d {2}Error in Source: words -> explode -> Sink: Sink \(2\/2\)$/);
  const stack = await entry.locator('pre').innerText();
  expect(stack.split('\n')[0]).toBe('Error: boom <b>not bold</b> at w1');
  expect(stack).toContain(`at explode (${jobFile}:`);
  expect(await page.locator('#exception-list b').count()).toBe(0);
  expect(await page.locator('#vertices tbody tr td').nth(1).innerText()).toBe('FAILED');
  await shot('7-failed-job');
  expect(problems).toEqual([]);
}, 90_000);
