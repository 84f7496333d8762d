import Table from 'cli-table3';
import type { ChalkInstance } from 'chalk';

/** A plain table: no colour codes unless `style` has colour, so piped output stays clean. */
export function renderTable(style: ChalkInstance, head: readonly string[], rows: readonly (readonly (string | number)[])[], alignRight: readonly number[] = []): string {
  const table = new Table({
    head: head.map((h) => style.bold(h)),
    style: { head: [], border: [] },
    colAligns: head.map((_, i) => (alignRight.includes(i) ? 'right' : 'left')),
  });
  for (const row of rows) table.push(row.map(String));
  return `${table.toString()}\n`;
}
