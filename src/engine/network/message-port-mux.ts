/**
 * Channels between worker threads of one process: a MessagePort link. Frames are posted as they
 * are (structured clone copies a batch's bytes, a memcpy); the port's 'close' event, which fires
 * on both ends when either closes it or its thread ends, is the link loss.
 */
import type { MessagePort } from 'node:worker_threads';
import { CreditMux } from './channel-mux.ts';
import type { Frame } from './frame.ts';
import type { FrameLink, LinkHandlers } from './link.ts';

class MessagePortLink implements FrameLink {
  #closing = false;

  constructor(
    private readonly port: MessagePort,
    readonly peer: string,
  ) {}

  start(handlers: LinkHandlers): void {
    this.port.on('message', (frame: Frame) => handlers.frame(frame));
    this.port.on('close', () => {
      if (!this.#closing) handlers.lost('the port was closed (the peer thread ended or closed it)');
    });
    this.port.on('messageerror', (err: Error) => handlers.lost(`a frame could not be read: ${err.message}`));
  }

  send(frame: Frame): void {
    if (!this.#closing) this.port.postMessage(frame);
  }

  close(): void {
    if (this.#closing) return;
    this.#closing = true;
    // Closing at once would drop frames still queued on this side (the goodbye among them).
    setImmediate(() => this.port.close());
  }
}

/** `peer` names the other end in errors (default "peer thread"). */
export function messagePortMux(port: MessagePort, peer = 'peer thread'): CreditMux {
  return new CreditMux(new MessagePortLink(port, `${peer} (MessagePort)`));
}
