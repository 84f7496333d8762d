/** `flink cluster start|stop|status`: the local cluster's JobManager, in the background. */
import type { ClusterOptions, CommandEnv } from '../cli.ts';
import { startClusterInBackground, stopCluster } from '../engine/cluster/cluster-launcher.ts';
import { RESUME_FROM } from '../engine/cluster/cluster-api.ts';
import { RestClient, clusterAnswers } from '../engine/cluster/rest-client.ts';
import { clusterUrl } from './cluster-client.ts';

export async function runCluster(action: 'start' | 'stop' | 'status', options: ClusterOptions, env: CommandEnv): Promise<number> {
  const url = clusterUrl(options, env.config);
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
      const started = await startClusterInBackground(url, env.config, options.define);
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
