/**
 * Keyed state descriptors: what a user function declares to get a state handle, as Flink's
 * StateDescriptor subclasses. A discriminated union on `kind`, so the backend and the snapshot
 * code can switch on it; the small constructors below exist for type inference at call sites.
 */
import type { KeyedStateKind, TtlConfig } from '../../format/model.ts';
import { checkDeclaredSchema } from './schema-migration.ts';
import { type StateTtlConfig, resolveTtl } from './ttl/state-ttl-config.ts';

/** Combines two values into one of the same type (Flink's ReduceFunction). */
export type ReduceFunction<T> = (accumulated: T, value: T) => T;

/** Flink's AggregateFunction: `add` may update `accumulator` in place and return it. */
export interface AggregateFunction<IN, ACC, OUT> {
  createAccumulator(): ACC;
  add(value: IN, accumulator: ACC): ACC;
  getResult(accumulator: ACC): OUT;
  /** Needed only by merging windows (session windows). */
  merge?(a: ACC, b: ACC): ACC;
  /**
   * Schema version of the accumulator a window keeps (default 1), and the hook that turns an
   * accumulator written at an older version into the current one: as a descriptor's
   * `schemaVersion` and `migrate`, for the window state of `window(...).aggregate(this)`.
   */
  readonly accumulatorSchemaVersion?: number;
  migrateAccumulator?(oldAccumulator: unknown, oldVersion: number): ACC;
}

/** The schema a window's aggregate declares for its accumulators, as descriptor options. */
export function accumulatorSchemaOf(aggregate: AggregateFunction<unknown, unknown, unknown>): Pick<DescriptorBase, 'schemaVersion'> & Migrates<unknown> {
  const migrate = aggregate.migrateAccumulator;
  return {
    ...(aggregate.accumulatorSchemaVersion === undefined ? {} : { schemaVersion: aggregate.accumulatorSchemaVersion }),
    ...(migrate === undefined ? {} : { migrate: (old: unknown, oldVersion: number) => migrate.call(aggregate, old, oldVersion) }),
  };
}

interface DescriptorBase {
  readonly name: string;
  /**
   * Version of the user's value schema, written to `_metadata` for migrations; defaults to 1.
   * Restoring a state written at another version needs `migrate` (schema-migration.ts).
   */
  readonly schemaVersion?: number;
  /**
   * Flink's StateTtlConfig (`StateTtlConfig.newBuilder(ms)...build()`), enforced for value, list,
   * map, reducing and aggregating state by the TTL layer over any backend (ttl/ttl-states.ts).
   */
  readonly ttl?: StateTtlConfig | null;
}

/**
 * Turns a value written at `oldVersion` (older than `schemaVersion`) into one of the current
 * schema: run once per stored value (value, list element, map user value, accumulator) when a
 * restored state is declared. Method syntax, so every typed descriptor widens to StateDescriptor.
 */
interface Migrates<T> {
  migrate?(oldValue: unknown, oldVersion: number): T;
}

export interface ValueStateDescriptor<T> extends DescriptorBase, Migrates<T> {
  readonly kind: 'value';
  /** Phantom: carries T for inference only; never set. */
  readonly __type?: T;
}

export interface ListStateDescriptor<T> extends DescriptorBase, Migrates<T> {
  readonly kind: 'list';
  readonly __type?: T;
}

export interface MapStateDescriptor<K, V> extends DescriptorBase, Migrates<V> {
  readonly kind: 'map';
  readonly __type?: [K, V];
}

export interface ReducingStateDescriptor<T> extends DescriptorBase, Migrates<T> {
  readonly kind: 'reducing';
  /** Method syntax on purpose: it lets every ReducingStateDescriptor<T> widen to StateDescriptor. */
  reduce(accumulated: T, value: T): T;
}

export interface AggregatingStateDescriptor<IN, ACC, OUT> extends DescriptorBase, Migrates<ACC> {
  readonly kind: 'aggregating';
  readonly aggregate: AggregateFunction<IN, ACC, OUT>;
}

/**
 * State that engine components (the timer service) keep per key without a user-facing handle:
 * the value is stored as given and written as is (FORMAT.md 5.2 fixes the layout per kind).
 */
export interface RawStateDescriptor extends DescriptorBase, Migrates<unknown> {
  readonly kind: 'timers';
}

export type StateDescriptor =
  | ValueStateDescriptor<unknown>
  | ListStateDescriptor<unknown>
  | MapStateDescriptor<unknown, unknown>
  | ReducingStateDescriptor<unknown>
  | AggregatingStateDescriptor<unknown, unknown, unknown>
  | RawStateDescriptor;

/** What the backend remembers of a state: enough for `_metadata` and for kind checks. */
export interface RegisteredStateInfo {
  readonly name: string;
  readonly kind: KeyedStateKind;
  readonly schemaVersion: number;
  readonly ttl: TtlConfig | null;
}

/**
 * A value-like state without TTL: one stored entry per key, whose stored bytes are its snapshot
 * value as they are (an on-disk backend hands them out packed; a thread can write its blocks).
 */
export function isPackedValueState(info: RegisteredStateInfo): info is RegisteredStateInfo & { readonly kind: 'value' | 'reducing' | 'aggregating' } {
  return info.ttl === null && (info.kind === 'value' || info.kind === 'reducing' || info.kind === 'aggregating');
}

/** `migrate` turns a value of an older schema version into a `T` (see Migrates). */
type Options<T = unknown> = Pick<DescriptorBase, 'schemaVersion' | 'ttl'> & Migrates<T>;

/** Checks a TTL in the constructors, so a job that declares a bad one fails where it does. */
export function checkTtl(descriptor: Pick<DescriptorBase, 'name' | 'ttl'>): void {
  if (descriptor.ttl !== undefined && descriptor.ttl !== null) resolveTtl(descriptor.name, descriptor.ttl);
}

function checked<D extends DescriptorBase & Migrates<unknown>>(descriptor: D): D {
  checkTtl(descriptor);
  checkDeclaredSchema(descriptor.name, descriptor);
  return descriptor;
}

export function valueState<T>(name: string, options: Options<T> = {}): ValueStateDescriptor<T> {
  return checked({ kind: 'value', name, ...options });
}

export function listState<T>(name: string, options: Options<T> = {}): ListStateDescriptor<T> {
  return checked({ kind: 'list', name, ...options });
}

export function mapState<K, V>(name: string, options: Options<V> = {}): MapStateDescriptor<K, V> {
  return checked({ kind: 'map', name, ...options });
}

export function reducingState<T>(name: string, reduce: ReduceFunction<T>, options: Options<T> = {}): ReducingStateDescriptor<T> {
  return checked({ kind: 'reducing', name, reduce, ...options });
}

export function aggregatingState<IN, ACC, OUT>(
  name: string,
  aggregate: AggregateFunction<IN, ACC, OUT>,
  options: Options<ACC> = {},
): AggregatingStateDescriptor<IN, ACC, OUT> {
  return checked({ kind: 'aggregating', name, aggregate, ...options });
}

export function timersState(name: string): RawStateDescriptor {
  return { kind: 'timers', name };
}

export function stateInfoOf(descriptor: DescriptorBase & { readonly kind: KeyedStateKind }): RegisteredStateInfo {
  return {
    name: descriptor.name,
    kind: descriptor.kind,
    schemaVersion: descriptor.schemaVersion ?? 1,
    ttl: descriptor.ttl === undefined || descriptor.ttl === null ? null : { ttlMs: descriptor.ttl.ttlMs, update: descriptor.ttl.update, visibility: descriptor.ttl.visibility },
  };
}
