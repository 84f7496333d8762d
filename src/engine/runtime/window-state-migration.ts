/**
 * Window state written by tsflink 0.1, before triggers: `window-contents` keyed by the window's
 * end alone (every window was an event-time tumbling or sliding one of the assigner's size), one
 * event-time timer per window at its end - 1 in `_timers`, and no `window-timers`. The window
 * operator calls this at open when the restored state has `window-contents` without
 * `window-timers`: each window is rewritten under `[end - size, end]` and its timers recorded as
 * the window's, so it fires as before. Any other assigner is refused in one line naming the state.
 */
import { UserError } from '../../errors.ts';
import { type TimeWindow, type Window, type WindowKey, windowKey } from '../api/window.ts';
import { type WindowAssigner, isMerging } from '../api/window-assigners.ts';
import type { KeyedStateBackend } from '../state/keyed-state-backend.ts';
import type { MapState } from '../state/keyed-state-handles.ts';

export interface EndKeyedWindows {
  readonly backend: KeyedStateBackend;
  /** `window-contents`, as the operator's engine handle. */
  readonly windows: MapState<WindowKey, unknown>;
  readonly assigner: WindowAssigner<Window>;
  readonly operatorUid: string;
  /** Records a rewritten window's timers (current key set). */
  readonly registerTimers: (window: TimeWindow) => void;
}

export function migrateEndKeyedWindows({ backend, windows, assigner, operatorUid, registerTimers }: EndKeyedWindows): void {
  const size = (assigner as { readonly size?: unknown }).size;
  // Collected first: setting the current key while iterating the state is not allowed.
  const keys = [...backend.keys('window-contents')];
  for (const key of keys) {
    backend.setCurrentKey(key);
    const ends = [...windows.keys()].filter((k) => typeof k === 'number') as unknown as number[];
    if (ends.length === 0) continue;
    if (typeof size !== 'number' || !assigner.isEventTime() || isMerging(assigner)) {
      throw new UserError(
        `operator '${operatorUid}': its state 'window-contents' was written by tsflink 0.1, which keyed windows by their end; ` +
          `it restores only into TumblingEventTimeWindows or SlidingEventTimeWindows of the size it was written with, not ${assigner.toString()}. ` +
          'Drain the windows of the old job first (flink stop --drain), or give the new window operator another uid',
      );
    }
    for (const end of ends) {
      const window: TimeWindow = { start: end - size, end };
      const contents = windows.get(end as unknown as WindowKey);
      windows.remove(end as unknown as WindowKey);
      windows.put(windowKey(window), contents);
      registerTimers(window);
    }
  }
}
