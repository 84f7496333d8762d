/**
 * A link over one TCP connection: length-prefixed frames (frame.ts), and heartbeats so that a
 * peer that vanished without closing (a network partition, a stopped process) is noticed: each
 * end sends a heartbeat every third of the timeout, and a link that received nothing for the
 * whole timeout is lost.
 */
import type { Socket } from 'node:net';
import { type Frame, FrameDecoder, encodeFrame } from './frame.ts';
import type { FrameLink, LinkHandlers } from './link.ts';

export class TcpLink implements FrameLink {
  peer: string;
  readonly #socket: Socket;
  readonly #decoder = new FrameDecoder();
  /** Frames that arrived while no one listened (between the handshake and the mux). */
  readonly #early: Frame[] = [];
  #handlers: LinkHandlers | undefined;
  #lostReason: string | undefined;
  #closing = false;
  #lastHeard = Date.now();
  readonly #heartbeat: NodeJS.Timeout;

  constructor(socket: Socket, peer: string, heartbeatTimeoutMs: number) {
    this.#socket = socket;
    this.peer = peer;
    socket.setNoDelay(true);
    socket.on('data', (chunk: Buffer) => this.#onData(chunk));
    socket.on('error', (err: NodeJS.ErrnoException) => this.#lose(`${err.code ?? 'socket error'}: ${err.message}`));
    socket.on('end', () => this.#lose('the peer closed the connection'));
    socket.on('close', () => this.#lose('the connection closed'));
    this.#heartbeat = setInterval(() => {
      const silent = Date.now() - this.#lastHeard;
      if (silent > heartbeatTimeoutMs) {
        this.#lose(`no frame or heartbeat for ${silent} ms (heartbeat timeout ${heartbeatTimeoutMs} ms)`);
        socket.destroy();
        return;
      }
      this.send({ kind: 'heartbeat' });
    }, Math.max(1, Math.floor(heartbeatTimeoutMs / 3)));
    this.#heartbeat.unref();
  }

  start(handlers: LinkHandlers): void {
    this.#handlers = handlers;
    while (this.#early.length > 0 && this.#handlers === handlers) handlers.frame(this.#early.shift()!); // non-empty: checked
    if (this.#lostReason !== undefined && this.#handlers === handlers) handlers.lost(this.#lostReason);
  }

  /** Frames wait here until the next `start` (the handshake hands the link to the mux). */
  pause(): void {
    this.#handlers = undefined;
  }

  send(frame: Frame): void {
    if (this.#closing || this.#lostReason !== undefined) return;
    const socket = this.#socket;
    const buffers = encodeFrame(frame);
    // Each frame goes out at once, header and batch in one writev. Holding frames back until the
    // end of the tick would hold them for the whole chain of sends that credit allows (a sender
    // with credit never yields), so sender and receiver would take turns instead of overlapping.
    if (buffers.length === 1) {
      socket.write(buffers[0]!);
      return;
    }
    socket.cork();
    for (const b of buffers) socket.write(b);
    socket.uncork();
  }

  close(): void {
    if (this.#closing) return;
    this.#closing = true;
    clearInterval(this.#heartbeat);
    this.#socket.end();
    // A peer that never closes its side must not keep the socket (and the process) alive.
    setTimeout(() => this.#socket.destroy(), 1000).unref();
  }

  #onData(chunk: Buffer): void {
    this.#lastHeard = Date.now();
    let frames: Frame[];
    try {
      frames = this.#decoder.push(chunk);
    } catch (err) {
      this.#lose(`protocol error: ${(err as Error).message}`);
      this.#socket.destroy();
      return;
    }
    for (const f of frames) {
      if (this.#handlers === undefined) this.#early.push(f);
      else this.#handlers.frame(f);
    }
  }

  #lose(reason: string): void {
    if (this.#lostReason !== undefined) return;
    this.#lostReason = reason;
    clearInterval(this.#heartbeat);
    if (!this.#closing) this.#handlers?.lost(reason);
  }
}
