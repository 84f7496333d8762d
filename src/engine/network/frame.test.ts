import { Buffer } from 'node:buffer';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { type Frame, FrameDecoder, FrameFormatError, NONCE_BYTES, decodeFrame, encodeFrame } from './frame.ts';

const channel = fc.string({ maxLength: 40 });
const bytes = (n: number) => fc.uint8Array({ minLength: n, maxLength: n }).map((a) => Buffer.from(a));
const frame: fc.Arbitrary<Frame> = fc.oneof(
  fc.record({ kind: fc.constant('data' as const), channel, batch: fc.uint8Array({ maxLength: 3000 }).map((a) => Buffer.from(a)) }),
  fc.record({ kind: fc.constant('credit' as const), channel, credits: fc.integer({ min: 0, max: 0xffffffff }) }),
  fc.record({ kind: fc.constant('end' as const), channel }),
  fc.constant({ kind: 'heartbeat' as const }),
  fc.record({ kind: fc.constant('goodbye' as const), reason: fc.string() }),
  fc.record({ kind: fc.constant('hello' as const), version: fc.integer({ min: 0, max: 255 }), hasSecret: fc.boolean(), nonce: bytes(NONCE_BYTES), endpoint: fc.string() }),
  fc.record({ kind: fc.constant('challenge' as const), nonce: bytes(NONCE_BYTES), proof: fc.option(bytes(NONCE_BYTES), { nil: undefined }), endpoint: fc.string() }),
  fc.record({ kind: fc.constant('proof' as const), proof: bytes(NONCE_BYTES) }),
  fc.record({ kind: fc.constant('welcome' as const), endpoint: fc.string() }),
  fc.record({ kind: fc.constant('refused' as const), reason: fc.string() }),
);

describe('frames on a stream', () => {
  it('property: any frames, cut into any chunks, decode to the same frames in order', () => {
    fc.assert(
      fc.property(fc.array(frame, { maxLength: 20 }), fc.array(fc.integer({ min: 1, max: 5000 }), { minLength: 1, maxLength: 30 }), (frames, cuts) => {
        const stream = Buffer.concat(frames.flatMap(encodeFrame));
        const decoder = new FrameDecoder();
        const out: Frame[] = [];
        let at = 0;
        for (let i = 0; at < stream.length; i++) {
          const n = cuts[i % cuts.length]!;
          out.push(...decoder.push(stream.subarray(at, at + n)));
          at += n;
        }
        expect(out).toEqual(frames);
      }),
      { numRuns: 300 },
    );
  });

  it('refuses garbage: a length out of range, an unknown type, a truncated body', () => {
    expect(() => new FrameDecoder().push(Buffer.from('GET / HTTP/1.1\r\n'))).toThrow(new FrameFormatError('frame length 542393671 is out of range (1 to 268435456)'));
    expect(() => new FrameDecoder().push(Buffer.from([0, 0, 0, 0]))).toThrow(/frame length 0 is out of range/);
    expect(() => decodeFrame(Buffer.from([99]))).toThrow(new FrameFormatError('unknown frame type 99'));
    expect(() => decodeFrame(Buffer.from([2, 5, 0, 0x61]))).toThrow(new FrameFormatError('credit frame of 4 bytes is truncated'));
  });
});
