/**
 * Messages between the JobMaster's side of an attempt (coordinator, restart loop) and one task
 * slot, a worker thread that runs one subtask of every chain (Flink's slot sharing). Structured
 * clone carries them; record batches never pass here, only over the slots' own channels.
 */
import type { MessagePort } from 'node:worker_threads';
import type { SubtaskAck } from '../../runtime/subtask.ts';
import type { TaskDeclineReason } from '../../checkpoint/failure-counter.ts';

/** How the slot builds the job: from its module, as the job's JobMaster thread does (Flink ships the jar). */
export interface SlotJobSource {
  /** Names the job in messages; its code is the bundle when there is one. */
  readonly jobFile: string;
  /**
   * The job's code as submitted: `path` where this process can read it (the JobManager's blob
   * store for in-process thread slots); a TaskManager fills it in from its blob cache.
   */
  readonly bundle?: { readonly key: string; readonly path?: string };
  readonly programArgs: readonly string[];
  readonly parallelism?: number;
  /** The cluster's configuration with the run's `-D` keys over it. */
  readonly config: Readonly<Record<string, string>>;
}

export interface DeployMessage {
  readonly type: 'deploy';
  readonly jobId: string;
  readonly attempt: number;
  readonly mode: 'EXACTLY_ONCE' | 'AT_LEAST_ONCE';
  readonly source: SlotJobSource;
  /** This slot's number, and how many the attempt uses: subtask i of every chain runs in slot i mod slots. */
  readonly slot: number;
  readonly slots: number;
  readonly restoreFrom?: string;
  /** Incremental checkpoints build on the restored checkpoint's chains (AttemptSpec.buildOnRestore). */
  readonly buildOnRestore?: boolean;
  readonly allowNonRestoredState: boolean;
  /**
   * Every other slot of the attempt: with a port (transferred) when it runs in this process, for
   * the channels between them; without one when it runs in another TaskManager, reached over TCP.
   */
  readonly peers: readonly { readonly slot: number; readonly port?: MessagePort }[];
  /** For peers over TCP: where this slot listens, and how peers prove they belong to the cluster. */
  readonly network?: SlotNetwork;
}

export interface SlotNetwork {
  /** Address the slot's data port binds to (`taskmanager.bind-host`). */
  readonly bindHost: string;
  /** Address peers connect to (`taskmanager.host`). */
  readonly advertisedHost: string;
  /** `security.network.shared-secret`. */
  readonly secret?: string;
  readonly heartbeatTimeoutMs?: number;
}

export type ToSlot =
  | DeployMessage
  /** A snapshot began: where its files go (sent to every slot before any barrier is injected). */
  | {
      readonly type: 'snapshot-started';
      readonly checkpointId: number;
      readonly savepoint: boolean;
      readonly location: string;
      /** An incremental checkpoint: the checkpoint root, the shared directory under it, and whether it is `--full`. */
      readonly shared?: { readonly root: string; readonly dir: string; readonly full: boolean };
      /** A native savepoint (CheckpointTarget.native). */
      readonly native?: boolean;
    }
  | { readonly type: 'inject-barrier'; readonly checkpointId: number; readonly savepoint: boolean; readonly drain: boolean }
  | { readonly type: 'snapshot-complete'; readonly checkpointId: number }
  | { readonly type: 'snapshot-aborted'; readonly checkpointId: number }
  /** Where the attempt's other slots listen (answer to every slot's `listening`). */
  | { readonly type: 'connect-peers'; readonly peers: readonly { readonly slot: number; readonly host: string; readonly port: number }[] }
  | { readonly type: 'release' }
  | { readonly type: 'cancel' };

export interface SlotFailure {
  /** `Map (2/4)`, when the failure happened in a subtask. */
  readonly taskName: string | null;
  readonly name: string;
  readonly message: string;
  readonly stack: string;
  /** A UserError's exit code: errors the user must fix (a restore that cannot match) are not restarted. */
  readonly userExitCode?: number;
  readonly cancelled: boolean;
  /** The failure is a channel closed by its other end: reported only if no slot reports its cause. */
  readonly secondary?: boolean;
}

export type FromSlot =
  /** The slot's data port for peers in other TaskManagers; it waits for `connect-peers`. */
  | { readonly type: 'listening'; readonly host: string; readonly port: number }
  /** The slot built its subtasks; the number it runs. */
  | { readonly type: 'deployed'; readonly subtasks: number }
  | { readonly type: 'finished'; readonly chain: number; readonly index: number }
  | { readonly type: 'ack'; readonly ack: SubtaskAck }
  | { readonly type: 'decline'; readonly checkpointId: number; readonly reason: string; readonly why?: TaskDeclineReason }
  | { readonly type: 'counts'; readonly subtasks: readonly { readonly index: number; readonly counts: readonly { readonly uid: string; readonly in: number; readonly out: number }[] }[] }
  /** The slot's first failure, at once, before its channels close and its peers fail in turn. */
  | { readonly type: 'failing'; readonly failure: SlotFailure }
  /** Every subtask of the slot ended: normally (failure undefined) or with the first failure. */
  | { readonly type: 'ended'; readonly failure?: SlotFailure };
