/**
 * Checkpoint settings Flink has and tsflink does not have yet. A user who asks for them must hear
 * so at once, not get aligned full checkpoints while REST echoes what was asked: each refusal
 * names the key, says what is missing and what to set instead. The issue that builds a feature
 * removes its refusal here.
 */
import { UserError } from '../../errors.ts';
import type { CheckpointConfig } from './checkpoint-config.ts';

const PREFIX = 'execution.checkpointing.';

/** Throws UserError for the first setting that asks for something not built; exit code 1 (a configuration error). */
export function refuseUnbuiltSettings(config: CheckpointConfig): void {
  if (config.unalignedEnabled) {
    throw new UserError(`${PREFIX}unaligned.enabled: true is not supported yet (tsflink has no unaligned checkpoints); use false, the default: checkpoints are aligned`, 1);
  }
  if (config.alignedCheckpointTimeout !== 0) {
    throw new UserError(
      `${PREFIX}aligned-checkpoint-timeout: ${config.alignedCheckpointTimeout} ms is not supported yet (it applies to unaligned checkpoints, which tsflink does not have); leave it unset`,
      1,
    );
  }
  if (config.incremental && config.localBackup) {
    // Local copies are kept per checkpoint directory and pruned to the latest; a chain's older shared files would have none.
    throw new UserError(`${PREFIX}incremental: true together with ${PREFIX}local-backup.enabled: true is not supported yet (local recovery does not keep copies of shared files); turn one of them off`, 1);
  }
}
