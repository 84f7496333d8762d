/**
 * Flink's field aggregations (sum, min, max, minBy, maxBy over a field of the records) as reduce
 * functions, for windows: `sum` and `min`/`max` return the first record with the field replaced
 * by the aggregate (the other fields are the first record's), `minBy`/`maxBy` the record holding
 * the smallest/largest value, the first of equal ones unless `first` is false (Flink's
 * SumAggregator and ComparableAggregator).
 */
import { UserError } from '../../errors.ts';

export type FieldAggregation = 'sum' | 'min' | 'max' | 'minBy' | 'maxBy';

export function fieldReducer<T>(aggregation: FieldAggregation, field: keyof T & string, first = true): (a: T, b: T) => T {
  const value = (record: T): number => {
    const v = (record as Record<string, unknown>)[field];
    if (typeof v !== 'number') throw new UserError(`${aggregation}('${field}'): the field must hold a number in every record, not ${JSON.stringify(v)}`);
    return v;
  };
  switch (aggregation) {
    case 'sum':
      return (a, b) => ({ ...a, [field]: value(a) + value(b) });
    case 'min':
      return (a, b) => ({ ...a, [field]: Math.min(value(a), value(b)) });
    case 'max':
      return (a, b) => ({ ...a, [field]: Math.max(value(a), value(b)) });
    case 'minBy':
      return (a, b) => (value(b) < value(a) || (!first && value(b) === value(a)) ? b : a);
    case 'maxBy':
      return (a, b) => (value(b) > value(a) || (!first && value(b) === value(a)) ? b : a);
  }
}
