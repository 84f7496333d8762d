/**
 * Test helper: a real Dispatcher behind a real REST server, whose JobMaster threads run a stand-in
 * module the test writes (an ES module source that answers the JobMaster protocol on parentPort),
 * so a test drives the REST API through the Dispatcher and JobMaster with no job code and no timing.
 */
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Dispatcher } from './dispatcher.ts';
import { JobStore } from './job-store.ts';
import { type RestServer, startRestServer } from './rest-server.ts';

export interface RestAnswer {
  readonly status: number;
  readonly json: Record<string, unknown>;
}

export interface StandInCluster {
  readonly dir: string;
  readonly dispatcher: Dispatcher;
  readonly server: RestServer;
  /** The Dispatcher's log lines. */
  readonly log: string[];
  /** One request to the REST server, `body` sent as JSON. */
  call(method: string, path: string, body?: unknown): Promise<RestAnswer>;
}

export interface StandInClusterOptions {
  /** Cluster configuration keys, as the JobManager's configuration would give them. */
  readonly config?: Record<string, string>;
  /** The Dispatcher's clock; the real one when absent. */
  readonly now?: () => number;
  /** A directory an earlier cluster used, to start on its job store; a new one when absent. */
  readonly dir?: string;
  /** Recover the job store before serving, as a starting JobManager does. */
  readonly recover?: boolean;
}

/**
 * Starts clusters whose JobMaster module is `standIn`, in temporary directories named after
 * `name`. `closeAll` (for afterAll) stops those still running and removes every directory.
 */
export function standInClusters(name: string, standIn: string): {
  start(options?: StandInClusterOptions): Promise<StandInCluster>;
  stop(cluster: StandInCluster): Promise<void>;
  closeAll(): Promise<void>;
} {
  const running: StandInCluster[] = [];
  const dirs = new Set<string>();

  const stop = async (cluster: StandInCluster): Promise<void> => {
    running.splice(running.indexOf(cluster), 1);
    await cluster.server.close();
    await cluster.dispatcher.close();
  };

  return {
    async start(options = {}) {
      const dir = options.dir ?? mkdtempSync(join(tmpdir(), `tsflink-${name}-`));
      dirs.add(dir);
      mkdirSync(join(dir, 'log'), { recursive: true });
      writeFileSync(join(dir, 'stand-in-jobmaster.mjs'), standIn);
      const log: string[] = [];
      const dispatcher = new Dispatcher({
        store: new JobStore(dir),
        workingDirectory: dir,
        logDirectory: join(dir, 'log'),
        jobMasterEntry: join(dir, 'stand-in-jobmaster.mjs'),
        config: options.config ?? {},
        storeOptions: {},
        log: (line) => void log.push(line),
        onShutdown: () => undefined,
        ...(options.now === undefined ? {} : { now: options.now }),
      });
      if (options.recover === true) await dispatcher.recover();
      const server = await startRestServer(dispatcher, { bindAddress: '127.0.0.1', port: 0 });
      const cluster: StandInCluster = {
        dir,
        dispatcher,
        server,
        log,
        async call(method, path, body) {
          const res = await fetch(`${server.url}${path}`, {
            method,
            ...(body === undefined ? {} : { headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) }),
          });
          return { status: res.status, json: (await res.json()) as Record<string, unknown> };
        },
      };
      running.push(cluster);
      return cluster;
    },
    stop,
    async closeAll() {
      for (const cluster of [...running]) await stop(cluster);
      for (const dir of dirs) rmSync(dir, { recursive: true, force: true });
    },
  };
}

/** Resolves once `done()` holds, checked at each turn of the event loop (the test's timeout bounds it). */
export async function until(done: () => Promise<boolean>): Promise<void> {
  while (!(await done())) await new Promise((r) => setImmediate(r));
}
