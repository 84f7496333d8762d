import { describe, expect, it } from 'vitest';
import { isLoopback, networkOptionsFromKeys } from './network-config.ts';

const options = (keys: Record<string, string>) => networkOptionsFromKeys((k) => keys[k]);

describe('network configuration', () => {
  it('defaults: loopback, any port, 8 credits per channel, 10 s heartbeat timeout, no secret', () => {
    expect(options({})).toEqual({ secret: undefined, bindHost: '127.0.0.1', dataPort: 0, buffersPerChannel: 8, heartbeatTimeoutMs: 10_000 });
  });

  it('reads every key', () => {
    expect(
      options({
        'taskmanager.bind-host': '0.0.0.0',
        'security.network.shared-secret': '0123456789abcdef0123',
        'taskmanager.data.port': '6121',
        'taskmanager.network.memory.buffers-per-channel': '16',
        'taskmanager.network.heartbeat-timeout': '2 s',
      }),
    ).toEqual({ secret: '0123456789abcdef0123', bindHost: '0.0.0.0', dataPort: 6121, buffersPerChannel: 16, heartbeatTimeoutMs: 2000 });
  });

  it('refuses a non-loopback bind without a secret, in one line naming the key to set', () => {
    expect(() => options({ 'taskmanager.bind-host': '10.1.2.3' })).toThrow(
      'refusing to bind the data port to 10.1.2.3 without a shared secret: set security.network.shared-secret on every TaskManager, or bind to 127.0.0.1 (taskmanager.bind-host)',
    );
  });

  it('refuses bad values, saying what is allowed', () => {
    expect(() => options({ 'taskmanager.data.port': '70000' })).toThrow("taskmanager.data.port: '70000' is not a port: allowed is 0 to 65535 (0: any free port)");
    expect(() => options({ 'taskmanager.network.memory.buffers-per-channel': '0' })).toThrow("taskmanager.network.memory.buffers-per-channel: '0' is out of range: allowed is 1 to 1024 batches");
    expect(() => options({ 'taskmanager.network.heartbeat-timeout': 'soon' })).toThrow(/^taskmanager\.network\.heartbeat-timeout: 'soon' is not a duration: write a whole number/);
    expect(() => options({ 'security.network.shared-secret': 'short' })).toThrow(/^security\.network\.shared-secret: the shared secret is shorter than 16 characters/);
  });

  it('knows loopback addresses', () => {
    for (const h of ['127.0.0.1', '127.5.6.7', 'localhost', '::1', '[::1]', '::ffff:127.0.0.1']) expect(isLoopback(h)).toBe(true);
    for (const h of ['0.0.0.0', '::', '10.0.0.1', '192.168.1.1', 'example.org', '128.0.0.1']) expect(isLoopback(h)).toBe(false);
  });
});
