/**
 * KeyedStream's rolling aggregations outside windows (Flink's SumAggregator and
 * ComparableAggregator): after every record, the key's aggregate so far. `sum`, `min` and `max`
 * change only the one field and keep every other field of the key's FIRST record; `minBy` and
 * `maxBy` keep the whole record holding the least or greatest value, the first such record on a
 * tie when `first` (the default) and the latest otherwise. A field is a property name, or an
 * index for tuples (arrays), as Flink's field positions.
 */
import { UserError } from '../../errors.ts';

export type AggregationType = 'sum' | 'min' | 'max' | 'minBy' | 'maxBy';

/** A top-level property of T, or a position when T is a tuple. */
export type FieldOf<T> = keyof T & (string | number);

export function rollingAggregation<T>(type: AggregationType, field: FieldOf<T>, first = true): (accumulated: T, value: T) => T {
  const get = (record: T): unknown => {
    const v = record === null || typeof record !== 'object' ? undefined : (record as Record<string | number, unknown>)[field];
    if (v === undefined || v === null) throw new UserError(`${type}(${JSON.stringify(field)}): a record has no value in field ${JSON.stringify(field)}; aggregate only a field every record has`);
    return v;
  };
  switch (type) {
    case 'sum':
      return (a, b) => withField(a, field, add(get(a), get(b), field));
    case 'min':
    case 'max': {
      const sign = type === 'min' ? -1 : 1;
      // Flink's MinComparator/MaxComparator: the first record, with the field set to the extreme.
      return (a, b) => {
        const va = get(a);
        const vb = get(b);
        return sign * compare(va, vb, type, field) > 0 ? a : withField(a, field, vb);
      };
    }
    case 'minBy':
    case 'maxBy': {
      const sign = type === 'minBy' ? -1 : 1;
      return (a, b) => {
        const c = sign * compare(get(a), get(b), type, field);
        if (c === 0) return first ? a : b;
        return c > 0 ? a : b;
      };
    }
  }
}

function withField<T>(record: T, field: string | number, value: unknown): T {
  if (Array.isArray(record)) {
    const copy = record.slice();
    copy[field as number] = value;
    return copy as T;
  }
  return { ...(record as object), [field]: value } as T;
}

function add(a: unknown, b: unknown, field: string | number): unknown {
  if (typeof a === 'number' && typeof b === 'number') return a + b;
  if (typeof a === 'bigint' && typeof b === 'bigint') return a + b;
  throw new UserError(`sum(${JSON.stringify(field)}): the field holds ${describe(a)} and ${describe(b)}; sum needs numbers (or bigints) in every record`);
}

/** Negative when a < b, as Comparable.compareTo; numbers, bigints, strings, booleans and Dates. */
function compare(a: unknown, b: unknown, type: AggregationType, field: string | number): number {
  const x = a instanceof Date ? a.getTime() : a;
  const y = b instanceof Date ? b.getTime() : b;
  const comparable = (typeof x === 'number' || typeof x === 'bigint' || typeof x === 'string' || typeof x === 'boolean') && (typeof x === typeof y || (typeof x === 'number' && typeof y === 'bigint') || (typeof x === 'bigint' && typeof y === 'number'));
  if (!comparable) throw new UserError(`${type}(${JSON.stringify(field)}): cannot compare ${describe(a)} with ${describe(b)}; the field must hold numbers, bigints, strings, booleans or Dates of one kind`);
  const p = x as number;
  const q = y as number;
  return p < q ? -1 : p > q ? 1 : 0;
}

function describe(v: unknown): string {
  if (v instanceof Date) return 'a Date';
  if (v === null) return 'null';
  return Array.isArray(v) ? 'an array' : `a ${typeof v}`;
}
