// SCRATCH: replaced by src/engine/network's mux at merge.
import type { MessagePort } from 'node:worker_threads';
import type { ChannelReceiver, ChannelSender } from '../../runtime/channel.ts';

type Frame = { t: 'd'; c: string; b: Uint8Array } | { t: 'e'; c: string } | { t: 'k'; c: string; n: number };

export interface ChannelMux {
  sender(channelId: string): ChannelSender;
  receiver(channelId: string, capacity?: number): ChannelReceiver;
  close(): void;
}

export function messagePortMux(port: MessagePort): ChannelMux {
  const credits = new Map<string, { n: number; wake: (() => void) | undefined }>();
  const queues = new Map<string, { q: (Uint8Array | null)[]; wake: (() => void) | undefined }>();
  const credit = (c: string) => credits.get(c) ?? (credits.set(c, { n: 0, wake: undefined }), credits.get(c)!);
  const queue = (c: string) => queues.get(c) ?? (queues.set(c, { q: [], wake: undefined }), queues.get(c)!);
  port.on('message', (f: Frame) => {
    if (f.t === 'k') {
      const k = credit(f.c);
      k.n += f.n;
      const w = k.wake; k.wake = undefined; w?.();
    } else {
      const q = queue(f.c);
      q.q.push(f.t === 'd' ? f.b : null);
      const w = q.wake; q.wake = undefined; w?.();
    }
  });
  return {
    sender(c) {
      return {
        async send(b) {
          const k = credit(c);
          while (k.n === 0) await new Promise<void>((r) => (k.wake = r));
          k.n -= 1;
          port.postMessage({ t: 'd', c, b } satisfies Frame);
        },
        close() { port.postMessage({ t: 'e', c } satisfies Frame); },
      };
    },
    receiver(c, capacity = 8) {
      port.postMessage({ t: 'k', c, n: capacity } satisfies Frame);
      return {
        async receive() {
          const q = queue(c);
          while (q.q.length === 0) await new Promise<void>((r) => (q.wake = r));
          const b = q.q.shift()!;
          if (b !== null) port.postMessage({ t: 'k', c, n: 1 } satisfies Frame);
          else q.q.unshift(null);
          return b;
        },
      };
    },
    close() { port.close(); },
  };
}
