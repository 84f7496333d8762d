import { describe, expect, it } from 'vitest';
import { FormatError, InternalError, UserError } from '../../errors.ts';
import { InvalidKeyError } from '../../format/canonical-key.ts';
import { keyGroupFor } from '../../format/key-groups.ts';
import { HeapKeyedStateBackend } from './heap-keyed-state-backend.ts';
import { aggregatingState, listState, mapState, reducingState, timersState, valueState } from './state-descriptors.ts';

const backend = (): HeapKeyedStateBackend => new HeapKeyedStateBackend({ keyGroupRange: { start: 0, end: 127 }, maxParallelism: 128 });

describe('ValueState', () => {
  it('keeps one value per key', () => {
    const b = backend();
    const count = b.getState(valueState<number>('count'));
    b.setCurrentKey('a');
    expect(count.value()).toBeUndefined();
    count.update(1);
    b.setCurrentKey('b');
    count.update(10);
    b.setCurrentKey('a');
    expect(count.value()).toBe(1);
    count.update((count.value() ?? 0) + 1);
    expect(count.value()).toBe(2);
    count.clear();
    expect(count.value()).toBeUndefined();
    b.setCurrentKey('b');
    expect(count.value()).toBe(10);
    count.update(undefined);
    expect(count.value()).toBeUndefined();
    expect(b.size('count')).toBe(0);
  });

  it('compares keys by canonical bytes, not identity or JS equality', () => {
    const b = backend();
    const s = b.getState(valueState<string>('s'));
    b.setCurrentKey({ x: 1, y: [true, 'z'] });
    s.update('object');
    b.setCurrentKey(1);
    s.update('number');
    b.setCurrentKey('1');
    s.update('string');
    b.setCurrentKey({ y: [true, 'z'], x: 1 }); // other property order, same canonical key
    expect(s.value()).toBe('object');
    b.setCurrentKey(1.0);
    expect(s.value()).toBe('number');
    b.setCurrentKey(-0);
    expect(s.value()).toBeUndefined();
    b.setCurrentKey(0);
    expect(s.value()).toBeUndefined();
    expect(b.size('s')).toBe(3);
    expect(b.getCurrentKey()).toBe(0);
  });

  it('stores a value mutated after value() only when it is given to update() (the handle contract)', () => {
    const b = backend();
    const acc = b.getState(valueState<{ n: number }>('acc'));
    b.setCurrentKey('k');
    acc.update({ n: 1 });
    const read = acc.value()!;
    read.n++;
    expect(acc.value()).toEqual({ n: 1 });
    acc.update(read);
    expect(acc.value()).toEqual({ n: 2 });
  });
});

describe('ListState', () => {
  it('adds, replaces and clears', () => {
    const b = backend();
    const l = b.getState(listState<number>('l'));
    b.setCurrentKey('k');
    expect([...l.get()]).toEqual([]);
    l.add(1);
    l.addAll([2, 3]);
    l.addAll([]);
    expect([...l.get()]).toEqual([1, 2, 3]);
    l.update([7]);
    expect([...l.get()]).toEqual([7]);
    l.update([]);
    expect([...l.get()]).toEqual([]);
    expect(b.size('l')).toBe(0);
    l.addAll(new Set([4, 5]));
    b.setCurrentKey('other');
    expect([...l.get()]).toEqual([]);
    b.setCurrentKey('k');
    expect([...l.get()]).toEqual([4, 5]);
    l.clear();
    expect([...l.get()]).toEqual([]);
  });

  it('refuses null and undefined elements, naming the state', () => {
    const b = backend();
    const l = b.getState(listState<number | null>('events'));
    b.setCurrentKey('k');
    expect(() => l.add(null)).toThrow(/state 'events': cannot add null/);
    expect(() => l.update([1, null])).toThrow(UserError);
    expect([...l.get()]).toEqual([]);
  });
});

describe('MapState', () => {
  it('supports the full map API with canonical user keys', () => {
    const b = backend();
    const m = b.getState(mapState<unknown, string>('m'));
    b.setCurrentKey('k');
    expect(m.isEmpty()).toBe(true);
    expect(m.get('a')).toBeUndefined();
    m.put('a', 'A');
    m.put(1, 'one');
    m.put({ p: 1, q: 2 }, 'obj');
    expect(m.isEmpty()).toBe(false);
    expect(m.get({ q: 2, p: 1 })).toBe('obj');
    expect(m.contains('1')).toBe(false);
    expect(m.contains(1)).toBe(true);
    m.put('a', 'AA');
    m.putAll([
      ['b', 'B'],
      ['c', 'C'],
    ]);
    expect([...m.keys()]).toEqual(['a', 1, { p: 1, q: 2 }, 'b', 'c']);
    expect([...m.values()]).toEqual(['AA', 'one', 'obj', 'B', 'C']);
    expect([...m.entries()].length).toBe(5);
    m.remove('b');
    m.remove('missing');
    expect(m.contains('b')).toBe(false);
    b.setCurrentKey('other');
    expect(m.isEmpty()).toBe(true);
    expect([...m.entries()]).toEqual([]);
    m.remove('a'); // nothing to remove: no state created
    expect(m.isEmpty()).toBe(true);
    b.setCurrentKey('k');
    for (const k of ['a', 1, { p: 1, q: 2 }, 'c']) m.remove(k);
    // As Flink's heap map state, a key whose map becomes empty has no state.
    expect(m.isEmpty()).toBe(true);
    expect(b.size('m')).toBe(0);
    m.put('z', 'Z');
    m.clear();
    expect(m.get('z')).toBeUndefined();
  });
});

describe('ReducingState and AggregatingState', () => {
  it('reduces added values', () => {
    const b = backend();
    const max = b.getState(reducingState<number>('max', (a, v) => Math.max(a, v)));
    b.setCurrentKey('k');
    expect(max.get()).toBeUndefined();
    max.add(3);
    max.add(9);
    max.add(4);
    expect(max.get()).toBe(9);
    max.clear();
    expect(max.get()).toBeUndefined();
  });

  it('aggregates through an accumulator', () => {
    const b = backend();
    const avg = b.getState(
      aggregatingState('avg', {
        createAccumulator: () => ({ sum: 0, count: 0 }),
        add: (v: number, acc) => ((acc.sum += v), (acc.count += 1), acc),
        getResult: (acc) => acc.sum / acc.count,
      }),
    );
    b.setCurrentKey('k');
    expect(avg.get()).toBeUndefined();
    avg.add(2);
    avg.add(4);
    expect(avg.get()).toBe(3);
    b.setCurrentKey('j');
    avg.add(10);
    expect(avg.get()).toBe(10);
    avg.clear();
    expect(avg.get()).toBeUndefined();
  });
});

describe('registration and keys', () => {
  it('creates one handle per state name and reuses it', () => {
    const b = backend();
    const first = b.getState(valueState<number>('x'));
    expect(b.getState(valueState<number>('x'))).toBe(first);
    expect(b.states().map((s) => [s.name, s.kind, s.schemaVersion, s.ttl])).toEqual([['x', 'value', 1, null]]);
  });

  it('refuses a name registered with another kind, naming it', () => {
    const b = backend();
    b.getState(valueState<number>('total'));
    expect(() => b.getState(listState<number>('total'))).toThrow(UserError);
    expect(() => b.getState(mapState<string, number>('total'))).toThrow(/keyed state 'total' is a value state and cannot also be used as a map state/);
  });

  it('offers raw per-key state for timers', () => {
    const b = backend();
    const timers = b.getRawState(timersState('timers'));
    b.setCurrentKey('k');
    timers.put([[0, 1000]]);
    expect(timers.get()).toEqual([[0, 1000]]);
    expect(b.states().map((s) => s.kind)).toEqual(['timers']);
    expect([...b.keys('timers')]).toEqual(['k']);
    timers.remove();
    expect(timers.get()).toBeUndefined();
  });

  it('computes the key group once per key and refuses keys of other subtasks', () => {
    const group = keyGroupFor('user-42', 128);
    const b = new HeapKeyedStateBackend({ keyGroupRange: { start: group, end: group }, maxParallelism: 128, owner: 'op (1/4)' });
    b.setCurrentKey('user-42');
    expect(b.getCurrentKeyGroup()).toBe(group);
    const other = ['a', 'b', 'c', 'd'].find((k) => keyGroupFor(k, 128) !== group)!;
    expect(() => b.setCurrentKey(other)).toThrow(InternalError);
    expect(() => b.setCurrentKey(other)).toThrow(/op \(1\/4\): key "\w" is in key group \d+, outside this subtask's key groups/);
    expect(() => b.setCurrentKey(null)).toThrow(InvalidKeyError);
  });

  it('refuses state access before any key is set', () => {
    const s = backend().getState(valueState<number>('v'));
    expect(() => s.value()).toThrow(/before a current key was set/);
  });
});

describe('restoring key groups', () => {
  const info = { name: 'm', kind: 'map', schemaVersion: 2, ttl: null } as const;

  it('loads entries in the in-memory layout, and keeps restored states the job does not use', () => {
    const b = backend();
    const g = keyGroupFor('k', 128);
    b.restoreKeyGroup(info, g, ['k'], [[[{ y: 1, x: 2 }, 'obj'], ['a', 'A']]], 'file.tsfs');
    b.registerRestoredState({ name: 'unused', kind: 'list', schemaVersion: 1, ttl: null });
    const m = b.getState(mapState<unknown, string>('m'));
    b.setCurrentKey('k');
    expect(m.get({ x: 2, y: 1 })).toBe('obj');
    expect(m.get('a')).toBe('A');
    expect(b.states().map((s) => [s.name, s.kind, s.schemaVersion])).toEqual([
      ['m', 'map', 1], // the job's declaration wins from now on
      ['unused', 'list', 1],
    ]);
    expect(b.snapshot().states.map((s) => s.name)).toEqual(['m', 'unused']);
  });

  it('refuses a key filed under another key group, or a value of the wrong shape, naming the file', () => {
    const b = backend();
    const g = keyGroupFor('k', 128);
    expect(() => b.restoreKeyGroup(info, (g + 1) % 128, ['k'], [[]], 'f1.tsfs')).toThrow(FormatError);
    expect(() => b.restoreKeyGroup(info, (g + 1) % 128, ['k'], [[]], 'f1.tsfs')).toThrow(/^f1\.tsfs: state 'm': a key of key group \d+ is stored in the block of key group \d+/);
    expect(() => b.restoreKeyGroup(info, g, ['k'], [{ not: 'pairs' }], 'f2.tsfs')).toThrow(/f2\.tsfs: state 'm': a map state value must be an array of \[userKey, userValue\] pairs/);
    expect(() => b.restoreKeyGroup(info, g, ['k'], [[['a', 1], ['a', 2]]], 'f3.tsfs')).toThrow(/the same user key twice/);
    const narrow = new HeapKeyedStateBackend({ keyGroupRange: { start: g, end: g }, maxParallelism: 128 });
    expect(() => narrow.restoreKeyGroup(info, (g + 1) % 128, [], [], 'f4.tsfs')).toThrow(InternalError);
  });

  it('refuses to hand out a restored state under another kind', () => {
    const b = backend();
    b.restoreKeyGroup({ name: 'total', kind: 'value', schemaVersion: 1, ttl: null }, keyGroupFor('k', 128), ['k'], [5], 'f.tsfs');
    expect(() => b.getState(listState<number>('total'))).toThrow(/keyed state 'total' is a value state and cannot also be used as a list state/);
    b.setCurrentKey('k');
    expect(b.getState(valueState<number>('total')).value()).toBe(5);
  });
});
