/** `flink list` against a fake JobManager: Flink's lines, sections and order. */
import { type Server, createServer } from 'node:http';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { CommandEnv } from '../cli.ts';
import type { JobOverview, JobState } from '../engine/cluster/cluster-api.ts';
import { formatDate, runList } from './list.ts';

const T = Date.UTC(2026, 0, 2, 3, 4, 5);

function job(n: number, state: JobState, start: number): JobOverview {
  const tasks = { running: 0, canceling: 0, canceled: 0, total: 0, created: 0, scheduled: 0, deploying: 0, reconciling: 0, finished: 0, failed: 0, initializing: 0 };
  return { jid: String(n).repeat(32), name: `job-${n}`, state, 'start-time': start, 'end-time': -1, duration: 0, 'last-modification': start, tasks };
}

// In the REST answer's order, which is not Flink's print order.
const JOBS = [
  job(1, 'RUNNING', T + 1000),
  job(2, 'RUNNING', T),
  job(3, 'RESTARTING', T),
  job(4, 'FINISHED', T),
  job(5, 'CANCELED', T),
  job(6, 'INITIALIZING', T),
  job(7, 'CREATED', T),
];

let server: Server;
let port: number;

beforeAll(async () => {
  server = createServer((req, res) => {
    res.writeHead(req.url === '/jobs/overview' ? 200 : 404, { 'Content-Type': 'application/json' });
    res.end(JSON.stringify(req.url === '/jobs/overview' ? { jobs: JOBS } : { errors: ['not found'] }));
  });
  port = await new Promise<number>((resolve) => server.listen(0, '127.0.0.1', () => resolve((server.address() as { port: number }).port)));
});
afterAll(async () => {
  server.closeAllConnections();
  await new Promise((resolve) => server.close(resolve));
});

async function list(flags: { running?: boolean; scheduled?: boolean; all?: boolean }): Promise<string> {
  let out = '';
  const env: CommandEnv = { ctx: { stdout: { write: (t) => void (out += t) }, stderr: { write: () => undefined }, env: {}, cwd: '/here' }, config: new Map() };
  expect(await runList({ define: [], jobmanager: `127.0.0.1:${port}`, ...flags }, env)).toBe(0);
  return out;
}

const line = (n: number, state: JobState, start: number): string => `${formatDate(start)} : ${String(n).repeat(32)} : job-${n} (${state})\n`;
const FOOTER = '--------------------------------------------------------------\n';
const RUNNING = `------------------ Running/Restarting Jobs -------------------\n${line(3, 'RESTARTING', T)}${line(2, 'RUNNING', T)}${line(1, 'RUNNING', T + 1000)}${FOOTER}`;
const SCHEDULED = `----------------------- Scheduled Jobs -----------------------\n${line(7, 'CREATED', T)}${line(6, 'INITIALIZING', T)}${FOOTER}`;
const TERMINATED = `---------------------- Terminated Jobs -----------------------\n${line(5, 'CANCELED', T)}${line(4, 'FINISHED', T)}${FOOTER}`;

describe("flink list: Flink's lines, jobs by start time and, started together, by state name", () => {
  it('no flag: running and scheduled', async () => {
    expect(await list({})).toBe(`Waiting for response...\n${RUNNING}${SCHEDULED}`);
  });

  it('-r', async () => {
    expect(await list({ running: true })).toBe(`Waiting for response...\n${RUNNING}`);
  });

  it('-s', async () => {
    expect(await list({ scheduled: true })).toBe(`Waiting for response...\n${SCHEDULED}`);
  });

  it('-a', async () => {
    expect(await list({ all: true })).toBe(`Waiting for response...\n${RUNNING}${SCHEDULED}${TERMINATED}`);
  });
});
