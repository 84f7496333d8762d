import { describe, expect, it } from 'vitest';
import { BadRequestError } from './cluster-api.ts';
import {
  checkpointTriggerRequest,
  parseJsonBody,
  savepointDisposalRequest,
  savepointTriggerRequest,
  stopRequest,
  resolvePathParameters,
  submitRequest,
} from './rest-validation.ts';

const parsers = {
  submit: submitRequest,
  savepoint: savepointTriggerRequest,
  stop: stopRequest,
  checkpoint: checkpointTriggerRequest,
  disposal: savepointDisposalRequest,
};

function refusal(run: () => unknown): string {
  try {
    run();
  } catch (err) {
    expect(err).toBeInstanceOf(BadRequestError);
    return (err as Error).message;
  }
  throw new Error('expected a BadRequestError');
}

describe('request body validation', () => {
  const bad: [parser: keyof typeof parsers, body: Record<string, unknown>, message: string][] = [
    ['submit', {}, "Field 'jobFile' is required."],
    ['submit', { jobFile: '' }, "Field 'jobFile' must not be empty."],
    ['submit', { jobFile: 1 }, "Field 'jobFile' must be a string, got 1."],
    ['submit', { jobFile: '/j.ts', programArgs: 'a b' }, 'Field \'programArgs\' must be an array of strings, got "a b".'],
    ['submit', { jobFile: '/j.ts', programArgs: ['a', 2] }, "Field 'programArgs[1]' must be a string, got 2."],
    ['submit', { jobFile: '/j.ts', parallelism: 0 }, "Field 'parallelism' must be a positive integer, got 0."],
    ['submit', { jobFile: '/j.ts', parallelism: -2 }, "Field 'parallelism' must be a positive integer, got -2."],
    ['submit', { jobFile: '/j.ts', parallelism: 1.5 }, "Field 'parallelism' must be a positive integer, got 1.5."],
    ['submit', { jobFile: '/j.ts', parallelism: '4' }, 'Field \'parallelism\' must be a positive integer, got "4".'],
    ['submit', { jobFile: '/j.ts', allowNonRestoredState: 'true' }, 'Field \'allowNonRestoredState\' must be a boolean, got "true".'],
    ['submit', { jobFile: '/j.ts', savepointPath: {} }, "Field 'savepointPath' must be a string, got {}."],
    ['submit', { jobFile: '/j.ts', claimMode: 'LEGACY' }, 'Field \'claimMode\' must be one of "CLAIM", "NO_CLAIM", got "LEGACY".'],
    ['submit', { jobFile: '/j.ts', config: ['a'] }, 'Field \'config\' must be an object of strings, got ["a"].'],
    ['submit', { jobFile: '/j.ts', config: { a: 1 } }, "Field 'config.a' must be a string, got 1."],
    ['submit', { jobFile: '/j.ts', paralelism: 2 }, "Unknown field 'paralelism' in the request body."],
    ['submit', { jobFile: '/j.ts', a: 1, b: 2 }, "Unknown fields 'a', 'b' in the request body."],
    ['savepoint', { 'cancel-job': 'yes' }, 'Field \'cancel-job\' must be a boolean, got "yes".'],
    ['savepoint', { 'target-directory': 5 }, "Field 'target-directory' must be a string, got 5."],
    ['savepoint', { formatType: 'canonical' }, 'Field \'formatType\' must be one of "CANONICAL", "NATIVE", got "canonical".'],
    ['savepoint', { target_directory: '/x' }, "Unknown field 'target_directory' in the request body."],
    ['stop', { drain: 1 }, "Field 'drain' must be a boolean, got 1."],
    ['stop', { targetDirectory: false }, "Field 'targetDirectory' must be a string, got false."],
    ['checkpoint', { checkpointType: 3 }, 'Field \'checkpointType\' must be one of "FULL", "INCREMENTAL", "CONFIGURED", got 3.'],
    ['disposal', {}, "Field 'savepoint-path' is required."],
    ['disposal', { 'savepoint-path': ['/a'] }, 'Field \'savepoint-path\' must be a string, got ["/a"].'],
  ];

  for (const [parser, body, message] of bad) {
    it(`refuses ${parser} ${JSON.stringify(body)}`, () => {
      expect(refusal(() => parsers[parser](body))).toBe(message);
    });
  }

  it('shortens long values in messages', () => {
    expect(refusal(() => submitRequest({ jobFile: 'x'.repeat(100).split('') }))).toBe(
      `Field 'jobFile' must be a string, got ${JSON.stringify('x'.repeat(100).split('')).slice(0, 57)}....`,
    );
  });

  it('keeps only the fields that were set, null counting as absent', () => {
    expect(submitRequest({ jobFile: '/j.ts', parallelism: null, savepointPath: null })).toStrictEqual({ jobFile: '/j.ts', programArgs: [] });
    expect(stopRequest({ drain: false })).toStrictEqual({ drain: false });
    expect(savepointTriggerRequest({})).toStrictEqual({});
    expect(savepointDisposalRequest({ 'savepoint-path': 's3://b/sp' })).toBe('s3://b/sp');
  });

  it('parses JSON objects only; an empty body is {}', () => {
    expect(parseJsonBody(Buffer.from(''))).toEqual({});
    expect(parseJsonBody(Buffer.from(' \n'))).toEqual({});
    expect(parseJsonBody(Buffer.from('{"a":1}'))).toEqual({ a: 1 });
    expect(refusal(() => parseJsonBody(Buffer.from('null')))).toBe('Request body must be a JSON object.');
    expect(refusal(() => parseJsonBody(Buffer.from('[1]')))).toBe('Request body must be a JSON object.');
    expect(refusal(() => parseJsonBody(Buffer.from('{')))).toMatch(/^Request body is not valid JSON: /);
  });

  it("reads path parameters as Flink's converters do, naming the first one that fails", () => {
    const id = '0123456789abcdef0123456789abcdef';
    const bad = (key: string, value: string): string => `Bad request, could not parse parameters: Cannot resolve path parameter (${key}) from value "${value}".`;
    // hexStringToByte: either case, a 33rd character dropped, '+1'/'-f' read as signed radix-16 pairs.
    expect(resolvePathParameters({ jobid: id.toUpperCase(), vertexid: `${id}z`, triggerid: `+1-f${id.slice(4)}` })).toEqual({
      jobid: id,
      vertexid: id,
      triggerid: `01f1${id.slice(4)}`,
    });
    expect(refusal(() => resolvePathParameters({ jobid: id.slice(1) }))).toBe(bad('jobid', id.slice(1)));
    expect(refusal(() => resolvePathParameters({ jobid: `${id}00` }))).toBe(bad('jobid', `${id}00`));
    expect(refusal(() => resolvePathParameters({ jobid: id, vertexid: `${id.slice(1)}g` }))).toBe(bad('vertexid', `${id.slice(1)}g`));
    expect(refusal(() => resolvePathParameters({ jobid: 'nope', vertexid: 'nope' }))).toBe(bad('jobid', 'nope'));
    // Long.parseLong: a sign and leading zeros, up to Long.MAX_VALUE.
    expect(resolvePathParameters({ checkpointid: '+007' })).toEqual({ checkpointid: '7' });
    expect(resolvePathParameters({ checkpointid: '-9223372036854775808' })).toEqual({ checkpointid: '-9223372036854775808' });
    for (const text of ['9223372036854775808', 'latest', '1.0', ' 1', '', '+', '0x1', '1e3']) {
      expect(refusal(() => resolvePathParameters({ checkpointid: text }))).toBe(bad('checkpointid', text));
    }
    // Our own parameters and Flink's ResourceID take any text.
    expect(resolvePathParameters({ taskmanagerid: 'tm 1', blobkey: 'x' })).toEqual({ taskmanagerid: 'tm 1', blobkey: 'x' });
  });
});
