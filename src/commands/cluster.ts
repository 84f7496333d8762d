/** `flink cluster start|stop|status`: the local cluster's JobManager, in the background. */
import type { ClusterOptions, CommandEnv } from '../cli.ts';
import { type Config, defineEntries } from '../config.ts';
import { UsageError } from '../errors.ts';
import { startClusterInBackground, stopCluster } from '../engine/cluster/cluster-launcher.ts';
import { RESUME_FROM } from '../engine/cluster/cluster-api.ts';
import { RestClient, clusterAnswers } from '../engine/cluster/rest-client.ts';
import { clusterUrl } from './cluster-client.ts';

export async function runCluster(action: 'start' | 'stop' | 'status', options: ClusterOptions, env: CommandEnv): Promise<number> {
  const url = clusterUrl(options, env.config);
  // Before anything is printed: a -m that a -D contradicts is refused in one line.
  const { config, defines } = action === 'start' && options.jobmanager !== undefined ? listeningAt(url, options.jobmanager, env.config, options.define) : { config: env.config, defines: options.define };
  const out = (data: unknown, text: string): void => env.ctx.stdout.write(options.json === true ? `${JSON.stringify(data)}\n` : `${text}\n`);
  // Starting: a JobManager too slow to answer within a second makes the new one fail with "port
  // in use", which says what to do; stopping or asking: a slow JobManager is still running.
  const running = action === 'start' ? await clusterAnswers(url, 1_000) : await clusterAnswers(url);
  switch (action) {
    case 'start': {
      if (running) {
        out({ url, started: false }, `A cluster is already running at ${url}.`);
        return 0;
      }
      // Progress goes to stdout (as Flink's start-cluster.sh), so stderr holds only an error.
      if (options.json !== true) env.ctx.stdout.write('Starting cluster.\n');
      const started = await startClusterInBackground(url, config, defines);
      out({ url, started: true, pid: started.pid, log: started.log }, `Started the JobManager (pid ${started.pid}) at ${url}; its log is ${started.log}.`);
      return 0;
    }
    case 'stop': {
      if (!running) {
        out({ url, stopped: false }, `No cluster is running at ${url}.`);
        return 0;
      }
      const overview = await new RestClient(url).overview();
      await stopCluster(url, overview.pid, (line) => env.ctx.stderr.write(`${line}\n`));
      const jobs = overview['jobs-running'];
      out(
        { url, stopped: true, 'jobs-running': jobs },
        `Stopped the JobManager at ${url}.${jobs > 0 ? ` ${jobs} job(s) were running; they resume when the cluster starts again, ${RESUME_FROM}.` : ''}`,
      );
      return 0;
    }
    case 'status': {
      if (!running) {
        out({ url, running: false }, `No cluster is running at ${url}.`);
        return 1;
      }
      const o = await new RestClient(url).overview();
      out({ url, running: true, ...o }, `A cluster is running at ${url} (JobManager pid ${o.pid}, working directory ${o['working-dir']}): ${o['jobs-running']} running job(s), ${o['jobs-finished']} finished, ${o['jobs-cancelled']} cancelled, ${o['jobs-failed']} failed.`);
      return 0;
    }
  }
}

/**
 * `cluster start -m host:port`: the JobManager listens there, as `-D rest.address=host -D
 * rest.port=port` would make it (its default working directory follows the port too). A `-D` that
 * says otherwise is refused, since one of the two would be ignored.
 */
function listeningAt(url: string, given: string, config: Config, defines: readonly string[]): { config: Config; defines: string[] } {
  const parsed = new URL(url);
  const hostname = parsed.hostname;
  // URL leaves out the scheme's default port.
  const port = parsed.port === '' ? '80' : parsed.port;
  const wanted = new Map([
    ['rest.address', hostname],
    ['rest.port', port],
  ]);
  for (const [key, value] of defineEntries(defines)) {
    const want = wanted.get(key);
    if (want !== undefined && value.trim().toLowerCase() !== want) {
      throw new UsageError(`-m ${given} and -D ${key}=${value} disagree on where the JobManager listens; give only one of them.`);
    }
  }
  return { config: new Map([...config, ...wanted]), defines: [...defines, ...[...wanted].map(([key, value]) => `${key}=${value}`)] };
}
