/**
 * The SQL both PostgreSQL sinks send, built from quoted identifiers only (values always travel
 * as parameters), and the check of a table at start-up, which turns the server's refusal of a
 * statement into one line the user can act on.
 */
import type { Client } from 'pg';
import { pgModule } from './pg-module.ts';
import { UserError } from '../../errors.ts';

/** PostgreSQL's limit of parameters in one statement (a 16-bit count). */
const MAX_PARAMETERS = 65_535;

/** The server's SQLSTATE, when the error came from the server. */
export function sqlState(err: unknown): string | undefined {
  const code = (err as { code?: unknown } | null)?.code;
  return typeof code === 'string' && /^[0-9A-Z]{5}$/.test(code) ? code : undefined;
}

export interface TableSpec {
  /** As the user wrote it, for messages. */
  readonly name: string;
  /** Quoted, ready for SQL. */
  readonly sql: string;
  readonly columns: readonly string[];
  readonly quotedColumns: readonly string[];
}

/** `name` or `schema.name`, each part taken as written (quoted, so case-sensitive). */
export function quotedTableName(sink: string, option: string, table: string): string {
  const parts = table.split('.');
  if (table === '' || parts.length > 2 || parts.some((p) => p === '')) {
    throw new UserError(`${sink}: ${option} ${JSON.stringify(table)} is not a table name; write name or schema.name`);
  }
  return parts.map((p) => pgModule().escapeIdentifier(p)).join('.');
}

export function tableSpec(sink: string, table: string, columns: readonly string[]): TableSpec {
  const sql = quotedTableName(sink, 'table', table);
  if (columns.length === 0) throw new UserError(`${sink}: no columns for table ${table}; list the columns the row function fills`);
  const seen = new Set<string>();
  for (const c of columns) {
    if (c === '') throw new UserError(`${sink}: an empty column name for table ${table}; name every column`);
    if (seen.has(c)) throw new UserError(`${sink}: column ${c} is listed twice for table ${table}; list each column once`);
    seen.add(c);
  }
  return { name: table, sql, columns, quotedColumns: columns.map((c) => pgModule().escapeIdentifier(c)) };
}

export function batchSizeOf(sink: string, batchSize: number | undefined): number {
  const size = batchSize ?? 500;
  if (!Number.isSafeInteger(size) || size < 1) throw new UserError(`${sink}: batchSize ${size} is not a whole number >= 1`);
  return size;
}

/** Rows per INSERT: the batch size, unless the parameter limit allows fewer. */
export function rowsPerStatement(batchSize: number, columns: number): number {
  return Math.max(1, Math.min(batchSize, Math.floor(MAX_PARAMETERS / columns)));
}

function values(columns: number, rows: number): string {
  const tuples: string[] = [];
  for (let r = 0; r < rows; r++) tuples.push(`(${Array.from({ length: columns }, (_, c) => `$${r * columns + c + 1}`).join(', ')})`);
  return tuples.join(', ');
}

export function insertStatement(table: TableSpec, rows: number): string {
  return `INSERT INTO ${table.sql} (${table.quotedColumns.join(', ')}) VALUES ${values(table.columns.length, rows)}`;
}

/** Insert, or overwrite the non-key columns of the row with the same key. */
export function upsertStatement(table: TableSpec, key: readonly string[], rows: number): string {
  const keys = new Set(key);
  const rest = table.columns.filter((c) => !keys.has(c)).map((c) => pgModule().escapeIdentifier(c));
  const onConflict = `ON CONFLICT (${key.map((k) => pgModule().escapeIdentifier(k)).join(', ')}) ${rest.length === 0 ? 'DO NOTHING' : `DO UPDATE SET ${rest.map((c) => `${c} = EXCLUDED.${c}`).join(', ')}`}`;
  return `${insertStatement(table, rows)} ${onConflict}`;
}

/** A row from the user's row function, checked against the columns. */
export function checkedRow(sink: string, table: TableSpec, row: unknown): readonly unknown[] {
  if (!Array.isArray(row) || row.length !== table.columns.length) {
    throw new UserError(`${sink}: the row function returned ${Array.isArray(row) ? `${row.length} values` : typeof row} for the ${table.columns.length} columns (${table.columns.join(', ')}) of table ${table.name}; return one value per column`);
  }
  return row;
}

/**
 * Plans `statement` for one row of nulls without running it (EXPLAIN), so a missing table,
 * column or unique key, or a missing privilege, stops the job at start-up with a clear message
 * rather than at the first batch.
 */
export async function checkStatement(client: Client, sink: string, table: TableSpec, statement: string, key?: readonly string[]): Promise<void> {
  try {
    await client.query(`EXPLAIN ${statement}`, table.columns.map(() => null));
  } catch (err) {
    const message = (err as Error).message;
    switch (sqlState(err)) {
      case '42P01': // undefined_table
      case '3F000': // invalid_schema_name
        throw new UserError(`${sink}: table ${table.name} does not exist; create it before starting the job`, undefined, { cause: err });
      case '42703': // undefined_column
        throw new UserError(`${sink}: ${message} (table ${table.name}); make the columns option match the table`, undefined, { cause: err });
      case '42P10': // invalid_column_reference: ON CONFLICT names no unique index
        throw new UserError(`${sink}: table ${table.name} has no unique index or constraint on (${(key ?? []).join(', ')}); add one (e.g. a primary key) or change the key option`, undefined, { cause: err });
      case '42501': // insufficient_privilege
        throw new UserError(`${sink}: ${message}; grant INSERT on table ${table.name} to the sink's user`, undefined, { cause: err });
      default:
        throw err;
    }
  }
}

/**
 * A batch the server refused for its values (SQLSTATE class 22, data exception, or 23, integrity
 * constraint violation) is the data's fault: say so, with the table. Anything else passes as is.
 */
export function rejectedRows(sink: string, table: TableSpec, err: unknown): unknown {
  const state = sqlState(err);
  if (state === undefined || !(state.startsWith('22') || state.startsWith('23'))) return err;
  return new UserError(`${sink}: table ${table.name} refused a batch of rows: ${(err as Error).message}; fix the row function or the table's constraints`, undefined, { cause: err });
}
