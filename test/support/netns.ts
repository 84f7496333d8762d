/**
 * Hosts for tests that must cross a real network: Linux network namespaces joined by a bridge
 * in a namespace of their own (a switch), one veth pair per host, addresses 10.<net>.0.<n>/24.
 * Needs root and iproute2 (CI runs as root; `.ci/run` installs iproute2 if missing). Nothing is
 * changed in the machine's own namespace: no routes, no forwarding.
 */
import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';

export interface TestHost {
  readonly name: string;
  readonly address: string;
  /** The host's side of its veth pair. */
  readonly device: string;
  /** argv prefix that runs a command inside this host. */
  exec(argv: readonly string[]): string[];
  /** Cuts the host off (its link down), or joins it again. */
  setLink(up: boolean): void;
}

export interface TestNetwork {
  readonly hosts: readonly TestHost[];
  remove(): void;
}

function ip(...args: string[]): void {
  execFileSync('ip', args, { stdio: ['ignore', 'ignore', 'pipe'] });
}

/** `count` hosts on one switch. Fails, saying why, when namespaces cannot be made here. */
export function createTestNetwork(count: number): TestNetwork {
  const tag = randomBytes(2).toString('hex');
  const net = 100 + (Number.parseInt(tag, 16) % 100);
  const sw = `tsf-sw-${tag}`;
  const made: string[] = [];
  try {
    ip('netns', 'add', sw);
    made.push(sw);
    ip('netns', 'exec', sw, 'ip', 'link', 'add', 'br0', 'type', 'bridge');
    ip('netns', 'exec', sw, 'ip', 'link', 'set', 'br0', 'up');
    const hosts: TestHost[] = [];
    for (let n = 1; n <= count; n++) {
      const name = `tsf-h${n}-${tag}`;
      ip('netns', 'add', name);
      made.push(name);
      const device = `eth${n}`;
      const peer = `p${n}${tag}`;
      ip('link', 'add', device, 'netns', name, 'type', 'veth', 'peer', 'name', peer, 'netns', sw);
      ip('netns', 'exec', sw, 'ip', 'link', 'set', peer, 'master', 'br0');
      ip('netns', 'exec', sw, 'ip', 'link', 'set', peer, 'up');
      const address = `10.${net}.0.${n}`;
      ip('netns', 'exec', name, 'ip', 'addr', 'add', `${address}/24`, 'dev', device);
      ip('netns', 'exec', name, 'ip', 'link', 'set', device, 'up');
      ip('netns', 'exec', name, 'ip', 'link', 'set', 'lo', 'up');
      hosts.push({
        name,
        address,
        device,
        exec: (argv) => ['ip', 'netns', 'exec', name, ...argv],
        setLink: (up) => ip('netns', 'exec', name, 'ip', 'link', 'set', device, up ? 'up' : 'down'),
      });
    }
    return {
      hosts,
      remove: () => {
        for (const ns of made.reverse()) {
          try {
            ip('netns', 'del', ns);
          } catch {
            // already gone
          }
        }
      },
    };
  } catch (err) {
    for (const ns of made.reverse()) {
      try {
        ip('netns', 'del', ns);
      } catch {
        // already gone
      }
    }
    const why = err instanceof Error && 'stderr' in err ? String((err as { stderr: unknown }).stderr).trim() : String(err);
    throw new Error(`cannot make network namespaces for test hosts (needs root and iproute2's 'ip netns'): ${why}`);
  }
}
