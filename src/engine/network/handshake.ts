/**
 * The proofs of the TCP handshake: with a shared secret configured, each end proves it knows the
 * secret with an HMAC-SHA256 over both ends' fresh nonces and endpoint ids, so a proof cannot be
 * replayed on another connection nor reflected back (the two directions are labelled apart).
 * The secret itself never crosses the wire. Pure: the caller draws the nonces.
 */
import { createHmac, timingSafeEqual } from 'node:crypto';

export interface HandshakeFacts {
  readonly clientNonce: Uint8Array;
  readonly serverNonce: Uint8Array;
  readonly clientEndpoint: string;
  readonly serverEndpoint: string;
}

export function proof(secret: string, role: 'client' | 'server', facts: HandshakeFacts): Buffer {
  const mac = createHmac('sha256', secret);
  mac.update(`tsflink-network-${role}\0`);
  mac.update(role === 'server' ? facts.clientNonce : facts.serverNonce);
  mac.update(role === 'server' ? facts.serverNonce : facts.clientNonce);
  mac.update(`${facts.clientEndpoint}\0${facts.serverEndpoint}`);
  return mac.digest();
}

export function proofMatches(secret: string, role: 'client' | 'server', facts: HandshakeFacts, offered: Uint8Array | undefined): boolean {
  if (offered === undefined) return false;
  const expected = proof(secret, role, facts);
  return offered.length === expected.length && timingSafeEqual(expected, offered);
}
