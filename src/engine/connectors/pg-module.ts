/**
 * The `pg` package, loaded on first use rather than when tsflink is imported: every job module
 * imports tsflink, whose index exports the PostgreSQL sinks, so a static import made every
 * `flink run`, `flink info` and every job a cluster deploys load pg (~30 ms) whether or not the
 * job writes to PostgreSQL. Its `import` export wraps the same CommonJS module require() gets.
 */
import { createRequire } from 'node:module';
import type pg from 'pg';

const require = createRequire(import.meta.url);

export function pgModule(): typeof pg {
  return require('pg') as typeof pg;
}
