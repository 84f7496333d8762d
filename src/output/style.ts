import { Chalk, type ChalkInstance } from 'chalk';
import type { CliContext, Output } from './context.ts';

/** Colour only for a terminal, and never when NO_COLOR is set (https://no-color.org). */
export function styleFor(out: Output, ctx: CliContext): ChalkInstance {
  const noColor = ctx.env.NO_COLOR !== undefined && ctx.env.NO_COLOR !== '';
  return new Chalk({ level: out.isTTY === true && !noColor ? 1 : 0 });
}

const UNITS = ['B', 'KiB', 'MiB', 'GiB', 'TiB'];

export function formatBytes(bytes: number): string {
  let value = bytes;
  let unit = 0;
  while (value >= 1024 && unit < UNITS.length - 1) {
    value /= 1024;
    unit += 1;
  }
  return unit === 0 ? `${bytes} B` : `${value.toFixed(1)} ${UNITS[unit]}`;
}
