import { describe, expect, it } from 'vitest';
import { UserError } from '../../errors.ts';
import { heapExhaustionMessage, isHeapExhaustion, parseMemorySize, workerExecArgv, workerHeapLimitMb } from './worker-heap.ts';

describe('worker heap', () => {
  it("parses Flink's memory sizes", () => {
    expect(parseMemorySize('128m')).toBe(128 * 1024 ** 2);
    expect(parseMemorySize(' 1 GB ')).toBe(1024 ** 3);
    expect(parseMemorySize('64mebibytes')).toBe(64 * 1024 ** 2);
    expect(parseMemorySize('4096')).toBe(4096);
    expect(parseMemorySize('12q')).toBeUndefined();
    expect(parseMemorySize('1.5g')).toBeUndefined();
    expect(parseMemorySize('')).toBeUndefined();
  });

  it('gives the limit in whole MiB, and refuses bad or too small values in one line', () => {
    expect(workerHeapLimitMb({})).toBeUndefined();
    expect(workerHeapLimitMb({ 'taskmanager.memory.task.heap.size': '1g' })).toBe(1024);
    expect(workerHeapLimitMb({ 'taskmanager.memory.task.heap.size': '100000k' })).toBe(97);
    expect(() => workerHeapLimitMb({ 'taskmanager.memory.task.heap.size': 'lots' })).toThrow(UserError);
    expect(() => workerHeapLimitMb({ 'taskmanager.memory.task.heap.size': 'lots' })).toThrow("taskmanager.memory.task.heap.size: 'lots' is not a memory size");
    expect(() => workerHeapLimitMb({ 'taskmanager.memory.task.heap.size': '16m' })).toThrow('too small');
  });

  it("passes the limit to the worker in place of the parent's", () => {
    expect(workerExecArgv(['--enable-source-maps', '--max-old-space-size=4096'], 96)).toEqual(['--enable-source-maps', '--max-old-space-size=96']);
    expect(workerExecArgv(['--max-old-space-size=4096'], undefined)).toEqual([]);
  });

  it("recognises V8's heap exhaustion and nothing else", () => {
    expect(isHeapExhaustion('<--- Last few GCs --->\nFATAL ERROR: Reached heap limit Allocation failed - JavaScript heap out of memory\n 1: 0xb8d0a3 node::Abort()')).toBe(true);
    expect(isHeapExhaustion('FATAL ERROR: Ineffective mark-compacts near heap limit Allocation failed - JavaScript heap out of memory')).toBe(true);
    expect(isHeapExhaustion('RangeError: Invalid string length')).toBe(false);
  });

  it('names the backend and what to do, in one line', () => {
    const line = heapExhaustionMessage(64, 'hashmap');
    expect(line).toMatch(/^The job's worker ran out of memory \(heap limit 64 MB\) holding its keyed state on the heap \(state\.backend\.type: hashmap\); /u);
    expect(line).toContain('taskmanager.memory.task.heap.size');
    expect(line).not.toContain('\n');
    expect(heapExhaustionMessage(64, 'rocksdb')).toContain('state.backend.type: rocksdb');
  });
});
