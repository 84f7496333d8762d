import { describe, expect, it } from 'vitest';
import { UserError } from '../../errors.ts';
import { parseMemorySize, workerHeapLimitMb } from './worker-heap.ts';

describe('task heap', () => {
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
});
