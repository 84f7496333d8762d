/**
 * What a ChannelMux needs of a transport: frames delivered whole and in order, and word when the
 * transport is gone. MessagePort and TCP links implement it.
 */
import type { Frame } from './frame.ts';

export interface LinkHandlers {
  /** A frame from the peer. */
  frame(frame: Frame): void;
  /** The transport is gone (peer closed or killed, reset, heartbeats missing), with why. */
  lost(reason: string): void;
}

export interface FrameLink {
  /** Names the link in errors: the peer's endpoint id and where it is. */
  readonly peer: string;
  /** Called once, by the mux; frames that arrived earlier are delivered then. */
  start(handlers: LinkHandlers): void;
  /** Queues a frame; never waits (credits bound what is in flight). */
  send(frame: Frame): void;
  /** Closes the transport after the frames already sent; no `lost` follows. */
  close(): void;
}
