import { Chalk, type ChalkInstance } from 'chalk';
import type { CliContext, Output } from './context.ts';

/** Colour only for a terminal, and never when NO_COLOR is set (https://no-color.org). */
export function styleFor(out: Output, ctx: CliContext): ChalkInstance {
  const noColor = ctx.env.NO_COLOR !== undefined && ctx.env.NO_COLOR !== '';
  return new Chalk({ level: out.isTTY === true && !noColor ? 1 : 0 });
}

// Where only formatBytes is needed, import it from bytes.ts: this module loads chalk.
export { formatBytes } from './bytes.ts';
