/**
 * A native savepoint restores only on the state backend that wrote it, as Flink's: `flink run -s`
 * refuses it on another backend before anything starts, and says to take a canonical savepoint.
 * (Every backend of tsflink writes the same block layout, so the bytes would read; the rule keeps
 * Flink's contract, which leaves room for a form only one backend reads, such as store files.)
 */
import { UserError } from '../../errors.ts';
import type { SnapshotMetadata } from '../../format/model.ts';

/** The backends a native savepoint's keyed operators were written from (FORMAT.md 3.5: absent on a keyed operator means hashmap). */
export function backendsOf(metadata: Pick<SnapshotMetadata, 'operators'>): string[] {
  const backends = new Set<string>();
  for (const op of metadata.operators) if (op.keyedStates.length > 0) backends.add(op.stateBackend ?? 'hashmap');
  return [...backends].sort();
}

/** The one-line refusal, or undefined when `metadata` may be restored on `backend`. */
export function nativeBackendMismatch(metadata: Pick<SnapshotMetadata, 'kind' | 'type' | 'operators'>, backend: string, location: string): string | undefined {
  if (metadata.kind !== 'savepoint' || metadata.type !== 'native') return undefined;
  const written = backendsOf(metadata).filter((b) => b !== backend);
  if (written.length === 0) return undefined;
  return `Cannot restore the job from ${location}: it is a native savepoint written by the ${written.join('/')} state backend, and this job uses ${backend} (state.backend.type); a native savepoint restores only on the backend that wrote it. Take a canonical savepoint (flink savepoint --type canonical <jobId>) to change backends, or run with -D state.backend.type=${written[0]}.`;
}

export function checkNativeBackend(metadata: Pick<SnapshotMetadata, 'kind' | 'type' | 'operators'>, backend: string, location: string): void {
  const problem = nativeBackendMismatch(metadata, backend, location);
  if (problem !== undefined) throw new UserError(problem, 1);
}
