/**
 * A named side output (Flink's OutputTag): `new OutputTag<Order>('late')`. A function emits to it
 * with `ctx.output(tag, value)` next to its main output; `getSideOutput(tag)` on the operator is
 * the stream of those records. Tags are told apart by their id, so two tags with the same id are
 * the same side output (Flink also compares the type, which JavaScript does not have at run time).
 */
import { UserError } from '../../errors.ts';

export class OutputTag<T> {
  /** Carries T for the type checker only. */
  declare readonly __type?: T;

  constructor(readonly id: string) {
    if (typeof id !== 'string') throw new UserError('OutputTag id cannot be null.');
    if (id === '') throw new UserError('OutputTag id must not be empty.');
  }

  toString(): string {
    return `OutputTag(${this.id})`;
  }
}

/** Emits to side outputs: what the contexts of process and window functions offer as `output`. */
export interface SideOutputContext {
  /** Emits `value` to the side output `tag`, with the current record's (or timer's, or window's) timestamp. */
  output<X>(tag: OutputTag<X>, value: X): void;
}

/** The id of a tag given to `ctx.output`, checked as Flink checks it. */
export function tagId(tag: OutputTag<unknown> | null | undefined): string {
  if (tag === null || tag === undefined) throw new UserError('OutputTag must not be null.');
  return tag.id;
}
