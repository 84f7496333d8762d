/**
 * Flink's GlobalWindows: every record of a key goes into the one global window, which never
 * ends; it fires only by the trigger given with `.trigger(...)` (its default never fires), as
 * `countWindow` does with a CountTrigger.
 */
import type { Trigger } from './trigger.ts';
import { NeverTrigger } from './triggers.ts';
import { GlobalWindow } from './window.ts';
import type { WindowAssigner } from './window-assigners.ts';

export class GlobalWindows implements WindowAssigner<GlobalWindow> {
  private constructor() {}
  static create(): GlobalWindows {
    return new GlobalWindows();
  }
  assignWindows(): GlobalWindow[] {
    return [GlobalWindow.get()];
  }
  getDefaultTrigger(): Trigger<unknown, GlobalWindow> {
    return new NeverTrigger();
  }
  isEventTime(): boolean {
    return false;
  }
  toString(): string {
    return 'GlobalWindows()';
  }
}
