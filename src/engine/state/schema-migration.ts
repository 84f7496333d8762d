/**
 * State schema evolution, as Flink's TypeSerializerSnapshot compatibility decides it when a
 * restored state is registered again: the same schema version is compatibleAsIs; an older one
 * with a `migrate(oldValue, oldVersion)` hook is compatibleAfterMigration, and every stored value
 * is migrated once, when the state is first declared (as Flink's RocksDB backend migrates a
 * state's values when it is registered with a new serializer); a newer one, or a changed one
 * without a hook, is incompatible and refused with Flink's StateMigrationException.
 *
 * A "value" here is what the user wrote: a value state's value, a list element, a map state's
 * user value, a reducing or aggregating state's accumulator. Under TTL (FORMAT.md 5.4) each is
 * the first half of a `[value, lastAccess]` pair, and the timestamp is kept as it is.
 */
import { UserError } from '../../errors.ts';
import type { KeyedStateKind } from '../../format/model.ts';
import type { UserMap } from './state-value-layout.ts';

/** What a descriptor declares about its values' schema. */
export interface DeclaredSchema {
  readonly schemaVersion?: number;
  migrate?(oldValue: unknown, oldVersion: number): unknown;
}

/** Turns one stored value of the old schema into one of the declared schema. */
export type MigrateValue = (oldValue: unknown) => unknown;

/** Where a state lives, for messages: its scope, name and operator. */
export interface StateWhere {
  readonly scope: 'keyed' | 'operator';
  readonly name: string;
  readonly operator: string;
}

/** Exit code of restore refusals (as Flink's `run` failing to restore). */
const RESTORE_REFUSED = 1;

/** The declared version, checked: a positive whole number (1 when not given). */
export function declaredVersion(name: string, declared: DeclaredSchema): number {
  const v = declared.schemaVersion ?? 1;
  if (!Number.isSafeInteger(v) || v < 1) throw new UserError(`state '${name}': schemaVersion must be a whole number >= 1, not ${String(declared.schemaVersion)}`);
  return v;
}

/** Checks a descriptor where it is made, so a job that declares a useless hook fails where it does. */
export function checkDeclaredSchema(name: string, declared: DeclaredSchema): void {
  const v = declaredVersion(name, declared);
  if (declared.migrate !== undefined && typeof declared.migrate !== 'function') throw new UserError(`state '${name}': migrate must be a function (oldValue, oldVersion) => newValue`);
  if (declared.migrate !== undefined && v === 1) {
    throw new UserError(`state '${name}': a migrate hook needs a schemaVersion above 1 (the version its values are migrated to); set schemaVersion`);
  }
}

/**
 * What restoring a state written at `restoredVersion` into a job that declares `declared` takes:
 * undefined (the same version: nothing), a function migrating one value, or a StateMigrationException.
 */
export function schemaMigration(where: StateWhere, restoredVersion: number, declared: DeclaredSchema): MigrateValue | undefined {
  const version = declaredVersion(where.name, declared);
  if (version === restoredVersion) return undefined;
  const prefix = `StateMigrationException: cannot restore ${where.scope} state '${where.name}' of operator '${where.operator}':`;
  if (restoredVersion > version) {
    throw new UserError(
      `${prefix} the snapshot has schema version ${restoredVersion}, newer than version ${version} that this job declares; restore it with a job that knows version ${restoredVersion}`,
      RESTORE_REFUSED,
    );
  }
  const migrate = declared.migrate;
  if (migrate === undefined) {
    throw new UserError(
      `${prefix} the snapshot has schema version ${restoredVersion} and this job declares version ${version} without a migrate(oldValue, oldVersion) hook; add one to the state's descriptor`,
      RESTORE_REFUSED,
    );
  }
  return (oldValue) => migrate.call(declared, oldValue, restoredVersion);
}

/**
 * For a keyed state restored as `restored` and now declared by `descriptor`: undefined when its
 * values stay as they are, else the migration of one stored element (a value, list element or map
 * user value, in the layout `restored` says they are stored in). Throws the refusals.
 */
export function restoredElementMigration(
  operator: string,
  restored: { readonly name: string; readonly schemaVersion: number; readonly ttl: unknown },
  descriptor: DeclaredSchema,
): MigrateValue | undefined {
  const migrate = schemaMigration({ scope: 'keyed', name: restored.name, operator }, restored.schemaVersion, descriptor);
  return migrate === undefined ? undefined : elementMigration(migrate, restored.ttl !== null);
}

/** The hook applied to one stored element (a value, list element or map user value), TTL pair or not. */
export function elementMigration(migrate: MigrateValue, underTtl: boolean): MigrateValue {
  if (!underTtl) return migrate;
  return (stored) => {
    const [value, lastAccess] = stored as [unknown, unknown];
    return [migrate(value), lastAccess];
  };
}

/** The hook applied to one key's value in the heap's in-memory layout (state-value-layout.ts). */
export function storedValueMigration(kind: KeyedStateKind, element: MigrateValue): MigrateValue {
  switch (kind) {
    case 'list':
      return (stored) => (stored as unknown[]).map(element);
    case 'map':
      return (stored) => {
        const out: UserMap = new Map();
        for (const [k, [userKey, userValue]] of stored as UserMap) out.set(k, [userKey, element(userValue)]);
        return out;
      };
    case 'timers':
      return (stored) => stored; // engine state: never versioned
    case 'value':
    case 'reducing':
    case 'aggregating':
      return element;
  }
}
