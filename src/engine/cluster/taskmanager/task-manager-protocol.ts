/**
 * Between a job's coordinator side (its JobMaster's executor) and a TaskManager, over the
 * TaskManager's control port: slot messages relayed both ways, keyed by the attempt's slot
 * number. The TaskManager adds what cannot cross a socket (MessagePorts between its own slots).
 */
import type { DeployMessage, FromSlot, SlotFailure, ToSlot } from './slot-protocol.ts';

/** A deploy as it crosses the network: peers say whether they run in the same TaskManager. */
export interface RemoteDeploy extends Omit<DeployMessage, 'peers'> {
  readonly peers: readonly { readonly slot: number; readonly sameTaskManager: boolean }[];
}

export type ToTaskManager =
  | { readonly type: 'deploy'; readonly deploy: RemoteDeploy }
  | { readonly type: 'to-slot'; readonly slot: number; readonly message: Exclude<ToSlot, DeployMessage> };

export type FromTaskManager =
  | { readonly type: 'from-slot'; readonly slot: number; readonly message: FromSlot }
  /** The slot's thread ended on its own (crash, heap exhausted) or could not start. */
  | { readonly type: 'slot-gone'; readonly slot: number; readonly failure?: SlotFailure }
  /** The TaskManager has no free slot for this deploy. */
  | { readonly type: 'refused'; readonly slot: number; readonly reason: string };

/** Channel ids of the control link on the mux. */
export const TO_TASK_MANAGER = 'control/to-taskmanager';
export const TO_JOB = 'control/to-job';
