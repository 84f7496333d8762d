/**
 * Control messages between a job's coordinator side and a TaskManager, as MessagePack batches on
 * two logical channels of the network mux (one each way), so they share the data plane's
 * connection, handshake and heartbeats. Sends keep their order; a lost link ends `closed`.
 */
import { Packr } from 'msgpackr';
import type { ChannelMux } from '../../network/channel-mux.ts';

// Plain MessagePack maps for objects (no msgpackr records): both ends decode to plain objects.
const packr = new Packr({ useRecords: false, moreTypes: true });

export interface ControlLink<Out> {
  send(message: Out): void;
  /** Resolves with why the link ended (closed by either end, or lost). */
  readonly closed: Promise<Error>;
  close(): void;
}

export function controlLink<In, Out>(mux: ChannelMux, sendId: string, receiveId: string, onMessage: (message: In) => void): ControlLink<Out> {
  const sender = mux.sender(sendId);
  const receiver = mux.receiver(receiveId, 64);
  let sending: Promise<void> = Promise.resolve();
  let resolveClosed!: (error: Error) => void;
  const closed = new Promise<Error>((resolve) => (resolveClosed = resolve));
  void (async () => {
    try {
      for (;;) {
        const batch = await receiver.receive();
        if (batch === null) break;
        onMessage(packr.unpack(batch) as In);
      }
      resolveClosed(new Error('the peer closed the control channel'));
    } catch (err) {
      resolveClosed(err instanceof Error ? err : new Error(String(err)));
    }
  })();
  return {
    send: (message) => {
      const bytes = packr.pack(message);
      sending = sending.then(() => sender.send(bytes)).catch((err: unknown) => resolveClosed(err instanceof Error ? err : new Error(String(err))));
    },
    closed,
    close: () => {
      // What was sent before goes first; then the link.
      void sending.finally(() => mux.close());
    },
  };
}
