/**
 * `flink diff --schema`: how the declared schema of each state differs between two snapshots,
 * from `_metadata` alone. A state's schema is what a restore checks against the job's
 * declaration: its kind, distribution mode, value schema version and TTL (FORMAT.md 3.5); entries
 * and bytes are data, not schema, and are left out. Operators are matched by uid; a state of an
 * operator only one snapshot has is added or removed like any other.
 */
import type { Json } from './json-value.ts';
import type { FieldChange } from './diff-snapshots.ts';
import type { SnapshotMetadata } from './model.ts';

export interface StateSchema {
  readonly kind: string;
  readonly mode: string | null;
  readonly schemaVersion: number;
  readonly ttl: Json;
}

export interface StateSchemaDiff {
  readonly operator: string;
  readonly scope: 'keyed' | 'operator';
  readonly name: string;
  readonly status: 'added' | 'removed' | 'changed';
  /** Null where the state is not in that snapshot. */
  readonly a: StateSchema | null;
  readonly b: StateSchema | null;
  /** For `changed`: the fields that differ. */
  readonly changes: FieldChange[];
}

export interface SchemaDiff {
  readonly equal: boolean;
  readonly states: StateSchemaDiff[];
}

/** Every state of a snapshot, `operator\0scope\0name` -> its schema, in `_metadata` order. */
function schemasOf(metadata: SnapshotMetadata): Map<string, { operator: string; scope: 'keyed' | 'operator'; name: string; schema: StateSchema }> {
  const out = new Map<string, { operator: string; scope: 'keyed' | 'operator'; name: string; schema: StateSchema }>();
  for (const op of metadata.operators) {
    for (const s of op.keyedStates) {
      const ttl: Json = s.ttl === null ? null : { ttlMs: s.ttl.ttlMs, update: s.ttl.update, visibility: s.ttl.visibility };
      out.set(`${op.uid}\0keyed\0${s.name}`, { operator: op.uid, scope: 'keyed', name: s.name, schema: { kind: s.kind, mode: null, schemaVersion: s.schemaVersion, ttl } });
    }
    for (const s of op.operatorStates) {
      out.set(`${op.uid}\0operator\0${s.name}`, { operator: op.uid, scope: 'operator', name: s.name, schema: { kind: s.kind, mode: s.mode, schemaVersion: s.schemaVersion, ttl: null } });
    }
  }
  return out;
}

export function diffSchemas(a: SnapshotMetadata, b: SnapshotMetadata): SchemaDiff {
  const inA = schemasOf(a);
  const inB = schemasOf(b);
  const states: StateSchemaDiff[] = [];
  for (const [id, sa] of inA) {
    const sb = inB.get(id);
    if (sb === undefined) {
      states.push({ operator: sa.operator, scope: sa.scope, name: sa.name, status: 'removed', a: sa.schema, b: null, changes: [] });
      continue;
    }
    const changes = (['kind', 'mode', 'schemaVersion', 'ttl'] as const)
      .filter((f) => JSON.stringify(sa.schema[f]) !== JSON.stringify(sb.schema[f]))
      .map((field) => ({ field, a: sa.schema[field], b: sb.schema[field] }));
    if (changes.length > 0) states.push({ operator: sa.operator, scope: sa.scope, name: sa.name, status: 'changed', a: sa.schema, b: sb.schema, changes });
  }
  for (const [id, sb] of inB) {
    if (!inA.has(id)) states.push({ operator: sb.operator, scope: sb.scope, name: sb.name, status: 'added', a: null, b: sb.schema, changes: [] });
  }
  // Grouped by operator, in the order operators first appear (a's, then those only b has).
  const order = [...new Set([...a.operators, ...b.operators].map((op) => op.uid))];
  states.sort((x, y) => order.indexOf(x.operator) - order.indexOf(y.operator));
  return { equal: states.length === 0, states };
}
