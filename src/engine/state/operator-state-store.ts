/**
 * Operator (non-keyed) state of one subtask, as Flink's DefaultOperatorStateBackend: list states
 * redistributed on restore by SPLIT (getListState) or UNION (getUnionListState), and broadcast
 * states (a map, the same on every subtask, getBroadcastState). Registered by name and mode.
 *
 * Operator state is small (source offsets, pending sink transactions, rules), so `snapshot()`
 * simply deep-copies it at the barrier; nothing needs copy-on-write here.
 */
import { UserError } from '../../errors.ts';
import type { DataFileWriter, WrittenBlock } from '../../format/data-file-writer.ts';
import type { DistributionMode, OperatorStateKind } from '../../format/model.ts';
import type { OperatorStateInfo } from '../../format/snapshot-writer.ts';
import { deepCopy } from './copy-value.ts';
import { keyStringOf } from './key-string.ts';
import { checkDeclaredSchema, schemaMigration } from './schema-migration.ts';
import type { ListState, MapState } from './keyed-state-handles.ts';

/** Operator list state has the keyed ListState's interface, as in Flink (one ListState type). */
export type OperatorListState<T> = ListState<T>;

/** Broadcast state reads and writes like MapState (Flink's BroadcastState mirrors MapState too). */
export type BroadcastState<K, V> = MapState<K, V>;

export interface OperatorStateOptions {
  readonly schemaVersion?: number;
  /** Turns an element (a list element, a broadcast value) written at an older `schemaVersion` into the current schema (schema-migration.ts). */
  migrate?(oldValue: unknown, oldVersion: number): unknown;
}

type ListEntry = { readonly kind: 'list'; info: OperatorStateInfo; elements: unknown[] };
type BroadcastEntry = { readonly kind: 'broadcast'; info: OperatorStateInfo; map: Map<string, [unknown, unknown]> };

export type CapturedOperatorState =
  | { readonly info: OperatorStateInfo; readonly kind: 'list'; readonly elements: readonly unknown[] }
  | { readonly info: OperatorStateInfo; readonly kind: 'broadcast'; readonly entries: readonly (readonly [unknown, unknown])[] };

export interface OperatorStateSnapshot {
  readonly states: readonly CapturedOperatorState[];
}

/** One state's partition, ready for `SnapshotWriter.addOperatorState(uid, info, subtask, block)`. */
export interface OperatorStatePartition {
  readonly info: OperatorStateInfo;
  readonly block: WrittenBlock | null;
}

export class OperatorStateStore {
  readonly #states = new Map<string, ListEntry | BroadcastEntry>();
  /** Restored states no declaration has claimed yet: the first one checks their schema. */
  readonly #undeclared = new Set<string>();
  #restoring = false;

  constructor(
    readonly owner = 'operator state',
    /** The operator's uid, for schema migration refusals. */
    readonly operatorUid = owner,
  ) {}

  /** A list state redistributed evenly over the subtasks on rescale (Flink's SPLIT_DISTRIBUTE). */
  getListState<T>(name: string, options: OperatorStateOptions = {}): OperatorListState<T> {
    return this.#listHandle<T>(this.#list(name, 'split', options));
  }

  /** A list state every subtask gets whole on restore (Flink's UNION). */
  getUnionListState<T>(name: string, options: OperatorStateOptions = {}): OperatorListState<T> {
    return this.#listHandle<T>(this.#list(name, 'union', options));
  }

  getBroadcastState<K, V>(name: string, options: OperatorStateOptions = {}): BroadcastState<K, V> {
    const entry = this.#register(name, 'broadcast', 'broadcast', options, (info) => ({ kind: 'broadcast', info, map: new Map() }));
    return broadcastHandle<K, V>(entry as BroadcastEntry);
  }

  states(): OperatorStateInfo[] {
    return [...this.#states.values()].map((s) => s.info);
  }

  /** Deep copies of every state, in registration order. */
  snapshot(): OperatorStateSnapshot {
    return {
      states: [...this.#states.values()].map((s): CapturedOperatorState =>
        s.kind === 'list'
          ? { info: s.info, kind: 'list', elements: deepCopy(s.elements) }
          : { info: s.info, kind: 'broadcast', entries: [...s.map.values()].map(([k, v]) => [deepCopy(k), deepCopy(v)] as const) },
      ),
    };
  }

  /** Appends restored elements to a list state (registering it with the snapshot's mode). */
  restoreList(info: OperatorStateInfo, elements: Iterable<unknown>): void {
    if (info.kind !== 'list' || info.mode === 'broadcast') throw new UserError(`${this.owner}: '${info.name}' is not a list state`);
    const entry = this.#restore(info.name, () => this.#list(info.name, info.mode as 'split' | 'union', info));
    for (const e of elements) entry.elements.push(e);
  }

  /** Puts restored entries into a broadcast state. */
  restoreBroadcast(info: OperatorStateInfo, keys: readonly unknown[], values: readonly unknown[]): void {
    const state = this.#restore(info.name, () => this.getBroadcastState<unknown, unknown>(info.name, info));
    for (let i = 0; i < keys.length; i++) state.put(keys[i], values[i]);
  }

  #restore<R>(name: string, register: () => R): R {
    if (!this.#states.has(name)) this.#undeclared.add(name);
    this.#restoring = true;
    try {
      return register();
    } finally {
      this.#restoring = false;
    }
  }

  #list(name: string, mode: 'split' | 'union', options: OperatorStateOptions): ListEntry {
    return this.#register(name, 'list', mode, options, (info) => ({ kind: 'list', info, elements: [] })) as ListEntry;
  }

  #register(
    name: string,
    kind: OperatorStateKind,
    mode: DistributionMode,
    options: OperatorStateOptions,
    create: (info: OperatorStateInfo) => ListEntry | BroadcastEntry,
  ): ListEntry | BroadcastEntry {
    if (!this.#restoring) checkDeclaredSchema(name, options);
    const info: OperatorStateInfo = { name, kind, mode, schemaVersion: options.schemaVersion ?? 1 };
    const existing = this.#states.get(name);
    if (existing === undefined) {
      const entry = create(info);
      this.#states.set(name, entry);
      return entry;
    }
    if (existing.info.kind !== kind || existing.info.mode !== mode) {
      throw new UserError(
        `${this.owner}: operator state '${name}' is registered as ${describe(existing.info)} and cannot also be used as ` +
          `${describe(info)}; give one of them another name`,
      );
    }
    if (!this.#restoring && this.#undeclared.delete(name)) this.#migrate(existing, options);
    existing.info = info;
    return existing;
  }

  /** A restored state's first declaration: every element migrated once to the declared schema, or refused. */
  #migrate(entry: ListEntry | BroadcastEntry, declared: OperatorStateOptions): void {
    const migrate = schemaMigration({ scope: 'operator', name: entry.info.name, operator: this.operatorUid }, entry.info.schemaVersion ?? 1, declared);
    if (migrate === undefined) return;
    if (entry.kind === 'list') entry.elements = entry.elements.map(migrate);
    else for (const [k, [key, value]] of entry.map) entry.map.set(k, [key, migrate(value)]);
  }

  #listHandle<T>(entry: ListEntry): OperatorListState<T> {
    const check = (v: unknown): void => {
      if (v === undefined || v === null) throw new UserError(`${this.owner}: cannot add ${String(v)} to operator list state '${entry.info.name}'`);
    };
    return {
      get: () => entry.elements as T[],
      add: (v) => {
        check(v);
        entry.elements.push(v);
      },
      addAll: (vs) => {
        const added = [...vs];
        added.forEach(check);
        for (const v of added) entry.elements.push(v);
      },
      update: (vs) => {
        const next = [...vs];
        next.forEach(check);
        entry.elements = next;
      },
      clear: () => {
        entry.elements = [];
      },
    };
  }
}

function broadcastHandle<K, V>(entry: BroadcastEntry): BroadcastState<K, V> {
  const pairs = (): IterableIterator<readonly [K, V]> => entry.map.values() as IterableIterator<readonly [K, V]>;
  return {
    get: (k) => entry.map.get(keyStringOf(k))?.[1] as V | undefined,
    put: (k, v) => void entry.map.set(keyStringOf(k), [k, v]),
    putAll: (entries) => {
      for (const [k, v] of entries) entry.map.set(keyStringOf(k), [k, v]);
    },
    remove: (k) => void entry.map.delete(keyStringOf(k)),
    contains: (k) => entry.map.has(keyStringOf(k)),
    entries: pairs,
    keys: function* () {
      for (const [k] of pairs()) yield k;
    },
    values: function* () {
      for (const [, v] of pairs()) yield v;
    },
    isEmpty: () => entry.map.size === 0,
    clear: () => entry.map.clear(),
  };
}

function describe(info: OperatorStateInfo): string {
  return info.kind === 'broadcast' ? 'broadcast state' : `list state with ${info.mode} redistribution`;
}

/** Writes this subtask's partition of every operator state into `writer`. */
export async function writeOperatorSnapshot(snapshot: OperatorStateSnapshot, writer: DataFileWriter, operatorUid: string): Promise<OperatorStatePartition[]> {
  const out: OperatorStatePartition[] = [];
  for (const state of snapshot.states) {
    const label = `${operatorUid}/${state.info.name}`;
    const block =
      state.kind === 'list' ? await writer.writeListPartition(label, state.elements) : await writer.writeBroadcastPartition(label, state.entries);
    out.push({ info: state.info, block });
  }
  return out;
}
