import { describe, expect, it } from 'vitest';
import { FETCH_BAD_PORTS, badPortProblem } from './bad-ports.ts';

/** Why Node's fetch fails for `port`, when it refuses it before connecting ('bad port'); no request is made then. */
async function refusal(port: number): Promise<string> {
  try {
    await fetch(`http://127.0.0.1:${port}/`, { signal: AbortSignal.timeout(10_000) });
    return 'answered';
  } catch (err) {
    return String((err as { cause?: { message?: unknown } }).cause?.message ?? (err as Error).message);
  }
}

describe('FETCH_BAD_PORTS', () => {
  it("are ports Node's fetch refuses as bad", async () => {
    for (const port of FETCH_BAD_PORTS) expect(await refusal(port), `port ${port}`).toBe('bad port');
  });

  it('says why a bad port cannot be used, and nothing for a good one', () => {
    expect(badPortProblem(6000)).toBe(`port 6000 is one Node's HTTP client refuses (a WHATWG "bad port"); use another port`);
    expect(badPortProblem(8081)).toBeUndefined();
    expect(badPortProblem(0)).toBeUndefined();
  });
});
