/**
 * Test double of a keyed backend with change tracking, as the interface in
 * keyed-state-backend.ts describes it (the real backends' tracking is built separately): per
 * state a Map from key string to value, and per key the snapshot epoch of its last change.
 * Snapshots copy everything, so writing one never sees later changes. Tests only.
 */
import type { KeyedStateKind } from '../../format/model.ts';
import type { KeyGroupRange } from './current-key.ts';
import type { CapturedChanges, CapturedKeyGroup, KeyedStateSnapshot } from './keyed-state-backend.ts';
import { keyGroupOfKeyString } from './key-string.ts';
import type { RegisteredStateInfo } from './state-descriptors.ts';

export function stateInfo(name: string, kind: KeyedStateKind, ttlMs?: number): RegisteredStateInfo {
  return { name, kind, schemaVersion: 1, ttl: ttlMs === undefined ? null : { ttlMs, update: 'OnCreateAndWrite', visibility: 'NeverReturnExpired' } };
}

export class TrackedStateDouble {
  readonly data: Map<string, Map<string, unknown>>;
  readonly #changed: Map<string, Map<string, number>>;
  readonly #snapshotEpochs = new Map<number, number>();
  #epoch = 0;
  /** Checkpoints at or below this were confirmed past: changes since them are gone. */
  #confirmed = -Infinity;
  /** Set to make takeKeyGroupChanges answer undefined (a backend that cannot tell). */
  cannotTell = false;

  constructor(
    readonly states: readonly RegisteredStateInfo[],
    readonly range: KeyGroupRange,
    readonly maxParallelism: number,
  ) {
    this.data = new Map(states.map((s) => [s.name, new Map()]));
    this.#changed = new Map(states.map((s) => [s.name, new Map()]));
  }

  put(state: string, key: string, value: unknown): void {
    this.data.get(state)!.set(key, value);
    this.#changed.get(state)!.set(key, this.#epoch);
  }

  delete(state: string, key: string): void {
    this.data.get(state)!.delete(key);
    this.#changed.get(state)!.set(key, this.#epoch);
  }

  confirmChanges(checkpointId: number): void {
    const epoch = this.#snapshotEpochs.get(checkpointId);
    if (epoch === undefined) return;
    for (const changes of this.#changed.values()) for (const [key, seq] of changes) if (seq <= epoch) changes.delete(key);
    this.#confirmed = Math.max(this.#confirmed, checkpointId);
  }

  snapshot(checkpointId: number): KeyedStateSnapshot & { readonly releasedGroups: number[] } {
    this.#snapshotEpochs.set(checkpointId, this.#epoch);
    this.#epoch += 1;
    const data = new Map([...this.data].map(([name, m]) => [name, new Map(m)]));
    const changed = new Map([...this.#changed].map(([name, m]) => [name, new Map(m)]));
    const epochs = this.#snapshotEpochs;
    const confirmed = this.#confirmed;
    const { states, maxParallelism } = this;
    const cannotTell = this.cannotTell;
    const inGroup = (key: string, kg: number): boolean => keyGroupOfKeyString(key, maxParallelism) === kg;
    let released = false;
    const releasedGroups: number[] = [];
    return {
      keyGroupRange: this.range,
      maxParallelism,
      states,
      entries: [...data.values()].reduce((n, m) => n + m.size, 0),
      get released() {
        return released;
      },
      releasedGroups,
      takeKeyGroup(kg: number): CapturedKeyGroup[] {
        return states.map((info) => {
          const entries = [...data.get(info.name)!].filter(([k]) => inGroup(k, kg));
          return { info, keys: entries.map(([k]) => k), values: entries.map(([, v]) => v) };
        });
      },
      takeKeyGroupChanges(kg: number, baseId: number): CapturedChanges[] | undefined {
        const baseEpoch = epochs.get(baseId);
        if (cannotTell || baseEpoch === undefined || baseId < confirmed) return undefined;
        return states.map((info) => {
          const keys: string[] = [];
          const values: unknown[] = [];
          const deletions: string[] = [];
          const content = data.get(info.name)!;
          for (const [key, seq] of changed.get(info.name)!) {
            if (seq <= baseEpoch || !inGroup(key, kg)) continue;
            if (content.has(key)) {
              keys.push(key);
              values.push(content.get(key));
            } else deletions.push(key);
          }
          return { info, upserts: { keys, values }, deletions };
        });
      },
      releaseKeyGroup(kg: number): void {
        releasedGroups.push(kg);
      },
      release(): void {
        released = true;
      },
    };
  }
}
