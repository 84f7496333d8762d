import { describe, expect, it } from 'vitest';
import { clusterUrl } from './cluster-client.ts';

describe('the JobManager a command talks to', () => {
  const rpc = new Map([['jobmanager.rpc.address', 'jm-host'], ['rest.port', '9000']]);
  it('is at jobmanager.rpc.address:rest.port when rest.address is unset, as Flink reads it for rest.address', () => {
    expect(clusterUrl({}, rpc)).toBe('http://jm-host:9000');
  });
  it('is at rest.address when both are set, and at -m over either', () => {
    expect(clusterUrl({}, new Map([...rpc, ['rest.address', 'rest-host']]))).toBe('http://rest-host:9000');
    expect(clusterUrl({ jobmanager: 'm-host:1234' }, rpc)).toBe('http://m-host:1234');
  });
  it('is at 127.0.0.1:8081 when nothing is set', () => {
    expect(clusterUrl({}, new Map())).toBe('http://127.0.0.1:8081');
  });
});
