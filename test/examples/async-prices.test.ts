/**
 * examples/async-prices.ts through the real binary on a real cluster (two task slots, so its two
 * subtasks run on worker threads): every order priced once by a local HTTP server, in order per
 * subtask; and with the service down, the job fails in one line naming the operator and the order.
 */
import { type Server, createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type RunResult, runFlink } from '../support/run-flink.ts';
import { type TestCluster, startTestCluster } from '../support/test-cluster.ts';

const price = (id: number): number => (id * 37) % 101;
const JOB = join(import.meta.dirname, '../../examples/async-prices.ts');

let cluster: TestCluster;
let server: Server;
let url: string;

beforeAll(async () => {
  server = createServer((req, res) => {
    const id = Number(new URL(req.url ?? '/', 'http://x').searchParams.get('id'));
    setImmediate(() => res.end(JSON.stringify({ id, price: price(id) })));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  cluster = await startTestCluster();
}, 90_000);

afterAll(async () => {
  await cluster?.stop();
  server.closeAllConnections();
  await new Promise((resolve) => server.close(resolve));
}, 60_000);

/** `flink run` against the test cluster: its -D flags go before the job file (after it they are the job's arguments). */
function run(options: readonly string[], jobArgs: readonly string[]): Promise<RunResult> {
  return runFlink(['run', ...cluster.defines, ...options, JOB, ...jobArgs], { cwd: cluster.scratch });
}

describe('examples/async-prices.ts', () => {
  it('prices every order once, in order within each subtask, at p=2', async () => {
    const orders = 300;
    const mark = cluster.printMark();
    const result = await run(['-p', '2'], [url, String(orders)]);
    expect(result.code, result.stderr).toBe(0);
    // Printed by the TaskManagers running the sink's subtasks, in their .out files as in Flink.
    const lines = await cluster.printedSince(mark, orders);
    const bySubtask = new Map<string, number[]>();
    for (const line of lines) {
      const m = /^(\d+)> order (\d+) costs (\d+)$/.exec(line);
      expect(m, line).not.toBeNull();
      expect(Number(m![3])).toBe(price(Number(m![2])));
      bySubtask.set(m![1]!, [...(bySubtask.get(m![1]!) ?? []), Number(m![2])]);
    }
    expect([...bySubtask.keys()].sort()).toEqual(['1', '2']);
    for (const ids of bySubtask.values()) expect(ids).toEqual([...ids].sort((a, b) => a - b)); // orderedWait, and the generator reads its splits in id order
    expect([...bySubtask.values()].flat().sort((a, b) => a - b)).toEqual(Array.from({ length: orders }, (_, i) => i));
  });

  it('fails in one line naming the operator and the order when the service is down', async () => {
    const result = await run([], ['http://127.0.0.1:1', '3']);
    expect(result.code).toBe(1);
    expect(result.stderr.trim().split('\n')).toHaveLength(1);
    expect(result.stderr).toMatch(/async wait operator 'prices': could not complete the stream element Record @ \(undef\) : 0: fetch failed/);
  });
});
