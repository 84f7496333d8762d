/** Which JobManager a command talks to: `-m host:port`, else `rest.address:rest.port`. */
import type { ClusterOptions } from '../cli.ts';
import { type Config, restAddress, restPort } from '../config.ts';
import { RestClient, restUrl } from '../engine/cluster/rest-client.ts';

export function clusterUrl(options: Pick<ClusterOptions, 'jobmanager'>, config: Config): string {
  return restUrl(options.jobmanager ?? `${restAddress(config)}:${restPort(config)}`);
}

export function clusterClient(options: Pick<ClusterOptions, 'jobmanager'>, config: Config): RestClient {
  return new RestClient(clusterUrl(options, config));
}
