/**
 * Channels between processes and hosts: one TCP connection per pair of endpoints carries every
 * channel between them. The connecting end declares its endpoint id; with a shared secret
 * (security.network.shared-secret) both ends prove they know it before any channel frame:
 *
 *   client -> HELLO (version, has secret, nonce C, client id)
 *   server -> CHALLENGE (nonce S, server's proof, server id)   or REFUSED (why)
 *   client -> PROOF (client's proof)                           or REFUSED, having checked the server's
 *   server -> WELCOME                                          or REFUSED
 *
 * Without a secret on either end HELLO is answered by WELCOME. A secret on one end only is a
 * refusal: both ends must agree. Refusals are logged on the server and are the client's error.
 */
import { randomBytes } from 'node:crypto';
import { type AddressInfo, type Server, type Socket, connect, createServer } from 'node:net';
import { CreditMux } from './channel-mux.ts';
import type { Frame } from './frame.ts';
import { NONCE_BYTES, PROTOCOL_VERSION } from './frame.ts';
import { type HandshakeFacts, proof, proofMatches } from './handshake.ts';
import { DEFAULT_BIND_HOST, DEFAULT_HEARTBEAT_TIMEOUT_MS, SHARED_SECRET_KEY, checkBindAllowed } from './network-config.ts';
import { TcpLink } from './tcp-link.ts';

export interface TcpMuxOptions {
  /** This end's endpoint id (a TaskManager's id), declared to and checked by the peer. */
  readonly endpointId: string;
  /** security.network.shared-secret; unset: no handshake proofs (loopback only). */
  readonly secret?: string | undefined;
  /** No frame for this long fails the link (and a handshake taking longer fails it). */
  readonly heartbeatTimeoutMs?: number | undefined;
}

export interface TcpMuxServerOptions extends TcpMuxOptions {
  /** Default 127.0.0.1; any other address needs `secret`. */
  readonly host?: string | undefined;
  /** Default 0: any free port. */
  readonly port?: number | undefined;
  /** Each peer that completed the handshake, as a mux, with the endpoint id it declared. */
  readonly onPeer: (mux: CreditMux, peerEndpointId: string) => void;
  /** Refused peers and replaced connections, one line each (default: stderr). */
  readonly log?: ((line: string) => void) | undefined;
}

export interface TcpMuxServer {
  readonly host: string;
  readonly port: number;
  /** Stops accepting and closes every peer's link. */
  close(): Promise<void>;
}

/** The handshake failed: wrong or missing secret, protocol mismatch, or no answer in time. */
export class HandshakeError extends Error {
  override readonly name = 'HandshakeError';
  constructor(
    message: string,
    /** 'here': this end refused the peer; 'peer': the peer refused this end. */
    readonly refusedBy?: 'here' | 'peer',
  ) {
    super(message);
  }
}

const REFUSE_NO_SECRET = `this endpoint requires the shared secret (${SHARED_SECRET_KEY}) and the peer has none`;
const REFUSE_UNEXPECTED_SECRET = `the peer has a shared secret but this endpoint has none: set ${SHARED_SECRET_KEY} to the same value on both`;
const REFUSE_WRONG_SECRET = `the peer's proof does not match: ${SHARED_SECRET_KEY} differs between the two ends`;

/** Runs `step` for each handshake frame until it returns a result; fails on loss or timeout. */
function handshake<T>(link: TcpLink, timeoutMs: number, step: (frame: Frame) => T | undefined): Promise<T> {
  return new Promise<T>((resolve, reject) => {
    const timer = setTimeout(() => fail(new HandshakeError(`no handshake from ${link.peer} within ${timeoutMs} ms`)), timeoutMs);
    const fail = (err: Error): void => {
      clearTimeout(timer);
      link.pause();
      link.close();
      reject(err);
    };
    link.start({
      frame(frame) {
        // The link's heartbeats run from the start: a slow handshake must not fail on one.
        if (frame.kind === 'heartbeat') return;
        try {
          const result = step(frame);
          if (result === undefined) return;
          clearTimeout(timer);
          link.pause();
          resolve(result);
        } catch (err) {
          fail(err as Error);
        }
      },
      lost: (reason) => fail(new HandshakeError(`${link.peer} went away during the handshake: ${reason}`)),
    });
  });
}

function refuse(link: TcpLink, reason: string): never {
  link.send({ kind: 'refused', reason });
  throw new HandshakeError(reason, 'here');
}

export async function listenTcpMux(options: TcpMuxServerOptions): Promise<TcpMuxServer> {
  const host = options.host ?? DEFAULT_BIND_HOST;
  const secret = options.secret === '' ? undefined : options.secret;
  checkBindAllowed(host, secret);
  const timeoutMs = options.heartbeatTimeoutMs ?? DEFAULT_HEARTBEAT_TIMEOUT_MS;
  const log = options.log ?? ((line: string) => process.stderr.write(`${line}\n`));
  const peers = new Map<string, CreditMux>();
  const sockets = new Set<Socket>();

  const accept = async (socket: Socket): Promise<void> => {
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
    const address = `${socket.remoteAddress}:${socket.remotePort}`;
    const link = new TcpLink(socket, `peer at ${address}`, timeoutMs);
    let facts: HandshakeFacts | undefined;
    const peerId = await handshake(link, timeoutMs, (frame): string | undefined => {
      if (facts === undefined) {
        if (frame.kind !== 'hello') refuse(link, `expected a hello, got ${frame.kind}`);
        if (frame.version !== PROTOCOL_VERSION) refuse(link, `protocol version ${frame.version} is not ${PROTOCOL_VERSION}`);
        link.peer = `${frame.endpoint} at ${address}`;
        if (secret === undefined) {
          if (frame.hasSecret) refuse(link, REFUSE_UNEXPECTED_SECRET);
          link.send({ kind: 'welcome', endpoint: options.endpointId });
          return frame.endpoint;
        }
        if (!frame.hasSecret) refuse(link, REFUSE_NO_SECRET);
        facts = { clientNonce: Buffer.from(frame.nonce), serverNonce: randomBytes(NONCE_BYTES), clientEndpoint: frame.endpoint, serverEndpoint: options.endpointId };
        link.send({ kind: 'challenge', nonce: facts.serverNonce, proof: proof(secret, 'server', facts), endpoint: options.endpointId });
        return undefined;
      }
      if (frame.kind === 'refused') throw new HandshakeError(frame.reason, 'peer');
      if (frame.kind !== 'proof') refuse(link, `expected a proof, got ${frame.kind}`);
      if (!proofMatches(secret!, 'client', facts, frame.proof)) refuse(link, REFUSE_WRONG_SECRET); // facts set only with a secret
      link.send({ kind: 'welcome', endpoint: options.endpointId });
      return facts.clientEndpoint;
    }).catch((err: Error) => {
      const refusedBy = err instanceof HandshakeError ? err.refusedBy : undefined;
      if (refusedBy === 'here') log(`Refused network peer ${link.peer}: ${err.message}`);
      else if (refusedBy === 'peer') log(`Network peer ${link.peer} refused this endpoint: ${err.message}`);
      else log(`Network handshake with ${link.peer} failed: ${err.message}`);
      return undefined;
    });
    if (peerId === undefined) return;
    const mux = new CreditMux(link);
    const previous = peers.get(peerId);
    if (previous !== undefined) {
      // A peer that restarted reconnects before its old, half-open connection timed out.
      log(`Network peer ${peerId} connected again from ${address}; its previous link is closed`);
      previous.lose(`${peerId} connected again`);
    }
    peers.set(peerId, mux);
    void mux.closed.then(() => {
      if (peers.get(peerId) === mux) peers.delete(peerId);
    });
    options.onPeer(mux, peerId);
  };

  const server: Server = createServer((socket) => void accept(socket));
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port ?? 0, host, () => {
      server.off('error', reject);
      resolve();
    });
  });
  const bound = server.address() as AddressInfo;
  return {
    host,
    port: bound.port,
    close: () =>
      new Promise<void>((resolve) => {
        for (const mux of peers.values()) mux.close();
        for (const s of sockets) setTimeout(() => s.destroy(), 1000).unref();
        server.close(() => resolve());
      }),
  };
}

export interface TcpMuxClientOptions extends TcpMuxOptions {
  readonly host: string;
  readonly port: number;
}

/** Connects to a peer's data port; resolves once the handshake succeeded. */
export async function connectTcpMux(options: TcpMuxClientOptions): Promise<CreditMux> {
  const secret = options.secret === '' ? undefined : options.secret;
  const timeoutMs = options.heartbeatTimeoutMs ?? DEFAULT_HEARTBEAT_TIMEOUT_MS;
  const address = `${options.host}:${options.port}`;
  const socket = connect({ host: options.host, port: options.port });
  await new Promise<void>((resolve, reject) => {
    socket.once('connect', () => {
      socket.off('error', reject);
      resolve();
    });
    socket.once('error', (err) => reject(new HandshakeError(`cannot connect to the data port at ${address}: ${err.message}`)));
  });
  const link = new TcpLink(socket, `peer at ${address}`, timeoutMs);
  const clientNonce = randomBytes(NONCE_BYTES);
  link.send({ kind: 'hello', version: PROTOCOL_VERSION, hasSecret: secret !== undefined, nonce: clientNonce, endpoint: options.endpointId });
  let proven = false;
  await handshake(link, timeoutMs, (frame): true | undefined => {
    if (frame.kind === 'refused') throw new HandshakeError(`${link.peer} refused this endpoint: ${frame.reason}`, 'peer');
    if (frame.kind === 'welcome') {
      if (secret !== undefined && !proven) refuse(link, `the peer skipped the proof of the shared secret (${SHARED_SECRET_KEY})`);
      link.peer = `${frame.endpoint} at ${address}`;
      return true;
    }
    if (frame.kind !== 'challenge' || proven) refuse(link, `expected a challenge, got ${frame.kind}`);
    link.peer = `${frame.endpoint} at ${address}`;
    if (secret === undefined) refuse(link, REFUSE_UNEXPECTED_SECRET);
    const facts: HandshakeFacts = { clientNonce, serverNonce: Buffer.from(frame.nonce), clientEndpoint: options.endpointId, serverEndpoint: frame.endpoint };
    if (!proofMatches(secret, 'server', facts, frame.proof)) refuse(link, REFUSE_WRONG_SECRET);
    link.send({ kind: 'proof', proof: proof(secret, 'client', facts) });
    proven = true;
    return undefined;
  });
  return new CreditMux(link);
}
