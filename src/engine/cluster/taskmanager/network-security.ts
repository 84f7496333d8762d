/** The data plane's settings every end of a connection must agree on, from the configuration. */
import { DEFAULT_HEARTBEAT_TIMEOUT_MS, HEARTBEAT_TIMEOUT_KEY as NETWORK_HEARTBEAT_TIMEOUT_KEY, SHARED_SECRET_KEY } from '../../network/network-config.ts';
import { parseFlinkDuration } from '../../checkpoint/flink-duration.ts';

export function networkSecurity(config: ReadonlyMap<string, string>): { secret?: string; heartbeatTimeoutMs: number } {
  const secret = config.get(SHARED_SECRET_KEY);
  const timeout = config.get(NETWORK_HEARTBEAT_TIMEOUT_KEY);
  return {
    ...(secret === undefined || secret === '' ? {} : { secret }),
    heartbeatTimeoutMs: timeout === undefined ? DEFAULT_HEARTBEAT_TIMEOUT_MS : (parseFlinkDuration(timeout) ?? DEFAULT_HEARTBEAT_TIMEOUT_MS),
  };
}
