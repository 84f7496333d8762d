/**
 * The session windows of one key (Flink's MergingWindowSet), kept in value state
 * `merging-window-set` as `[start, end]` pairs so they survive checkpoints and rescaling. Adding a
 * window merges it with every window it overlaps or touches; the merge function moves their
 * contents, trigger state and timers to the merged window (window-operator.ts). Unlike Flink,
 * which keeps a merged window's state under one of the old windows (its "state window"), state
 * here always sits under the window itself.
 */
import { InternalError } from '../../errors.ts';
import { type TimeWindow, mergeTimeWindows, sameWindow } from '../api/window.ts';
import type { ValueState } from '../state/keyed-state-handles.ts';

export type MergingWindows = TimeWindow[];

export function loadMergingWindows(state: ValueState<unknown>): MergingWindows {
  const stored = state.value();
  if (stored === undefined) return [];
  if (!Array.isArray(stored) || !stored.every((p) => Array.isArray(p) && p.length === 2 && typeof p[0] === 'number' && typeof p[1] === 'number')) {
    throw new InternalError(`state 'merging-window-set' is not a list of [start, end] windows: ${JSON.stringify(stored)}`);
  }
  return (stored as [number, number][]).map(([start, end]) => ({ start, end }));
}

export function storeMergingWindows(state: ValueState<unknown>, windows: MergingWindows): void {
  state.update(windows.length === 0 ? undefined : windows.map((w) => [w.start, w.end]));
}

/**
 * Adds `window` to the key's windows, merging as the assigner's windows merge (Flink's
 * TimeWindow.mergeWindows); `merge(cover, merged)` is called for each run that merges existing
 * windows (not when the new window only falls inside one). Returns the window the new one is now
 * part of.
 */
export function addWindow(windows: MergingWindows, window: TimeWindow, merge: (cover: TimeWindow, merged: readonly TimeWindow[]) => void): TimeWindow {
  let result = window;
  let mergedNew = false;
  for (const run of mergeTimeWindows([...windows, window])) {
    const merged = run.members.filter((w) => w !== window);
    if (merged.length < run.members.length) {
      result = run.cover;
      mergedNew = true;
    }
    for (const m of merged) windows.splice(windows.indexOf(m), 1);
    windows.push(run.cover);
    if (!(merged.length === 1 && sameWindow(merged[0]!, run.cover))) merge(run.cover, merged);
  }
  if (!mergedNew) windows.push(window);
  return result;
}

export function retireWindow(windows: MergingWindows, window: TimeWindow): void {
  const i = windows.findIndex((w) => sameWindow(w, window));
  if (i >= 0) windows.splice(i, 1);
}
