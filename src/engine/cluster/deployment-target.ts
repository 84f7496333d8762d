/**
 * Flink's deployment target, `execution.target` and GenericCLI's `-t, --target`: tsflink runs every
 * job on its own cluster, reached at its REST address, which is what Flink's target `remote` is,
 * so that is the one target there is. The flag and the key refuse any other in the same words.
 */
export const DEPLOYMENT_TARGET_KEY = 'execution.target';

/** Flink's executor factories compare the target ignoring case (RemoteExecutorFactory.isCompatibleWith). */
export function isRemoteTarget(value: string): boolean {
  return value.toLowerCase() === 'remote';
}

/** Why a target other than `remote` is refused; the caller adds what to do with its flag or key. */
export function unsupportedTargetReason(value: string): string {
  const local = value.toLowerCase() === 'local' ? ' (its local executor runs the job inside the client)' : '';
  return `tsflink has no such deployment target${local}; it runs jobs on its own cluster, reached at -m host:port or rest.address:rest.port (target remote, the default), and flink run starts a local one when none answers`;
}
