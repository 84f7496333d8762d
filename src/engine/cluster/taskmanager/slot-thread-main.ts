/**
 * A task slot: a worker thread that builds the job from its module and runs the subtasks the
 * JobMaster's side placed here (subtask i of every chain in slot i mod slots), with channels to
 * the other slots over MessagePorts. Checkpoint triggers, completions and the final release come
 * in as messages; acknowledgements, declines and failures go back.
 */
import { localRecoveryOf } from '../../checkpoint/local-recovery.ts';
import { parentPort } from 'node:worker_threads';
import { UserError } from '../../../errors.ts';
import { type OpenStoreOptions, openStore } from '../../../storage/open-store.ts';
import { PendingSnapshotStore } from '../../checkpoint/pending-snapshot-store.ts';
import type { Chain } from '../../runtime/job-plan.ts';
import { LocalChannel } from '../../runtime/channel.ts';
import { openRestore } from '../../runtime/local-executor.ts';
import { CancelledError, type CheckpointTarget, type Subtask } from '../../runtime/subtask.ts';
import { wireSubtasks } from '../../runtime/subtask-wiring.ts';
import { TaskFailure, stackTrace } from '../../runtime/task-failure.ts';
import { networkOptions } from '../../../config.ts';
import { jobSettingsFromConfig } from '../job-settings.ts';
import { prepareJob } from '../prepare-job.ts';
import { type ChannelMux, ChannelClosedError } from '../../network/channel-mux.ts';
import { messagePortMux } from '../../network/message-port-mux.ts';
import { type TcpMuxServer, connectTcpMux, listenTcpMux } from '../../network/tcp-mux.ts';
import type { DeployMessage, FromSlot, SlotFailure, ToSlot } from './slot-protocol.ts';
import { SlotSnapshots } from './slot-snapshots.ts';

/** How often record counts go to the JobMaster's side (Flink's metrics are sampled too). */
const COUNTS_EVERY_MS = 1000;

const port = parentPort!;
const post = (message: FromSlot): void => port.postMessage(message);

interface Snapshot {
  readonly savepoint: boolean;
  readonly store: Promise<PendingSnapshotStore>;
  /** An incremental checkpoint: the checkpoint root its data files go under. */
  readonly shared?: { readonly store: Promise<PendingSnapshotStore>; readonly dir: string; readonly full: boolean };
  readonly native?: boolean;
}

let subtasks: Subtask[] = [];
let peerAddresses: ((peers: readonly { slot: number; host: string; port: number }[]) => void) | undefined;
let dataServer: TcpMuxServer | undefined;
let failSlot: (error: Error) => void = () => undefined;
let storeOptions: OpenStoreOptions = {};
const finished = new Set<Subtask>();
/** Snapshots started and not settled, and the ids seen aborted or completed, so a late request for one is answered at once. */
const snapshots = new SlotSnapshots<Snapshot>();
/** Targets asked for before `snapshot-started` arrived (a barrier can overtake it from another slot). */
const waiting = new Map<number, ((target: CheckpointTarget | undefined) => void)[]>();

port.on('message', (message: ToSlot) => {
  switch (message.type) {
    case 'deploy':
      void deploy(message);
      return;
    case 'snapshot-started': {
      // Ended before its start reached this slot: nothing will be written for it.
      if (snapshots.settled(message.checkpointId)) {
        for (const resolve of waiting.get(message.checkpointId) ?? []) resolve(undefined);
        waiting.delete(message.checkpointId);
        return;
      }
      const store = openStore(message.location, storeOptions).then((s) => new PendingSnapshotStore(s));
      store.catch(() => undefined);
      const shared = message.shared === undefined ? undefined : { store: openStore(message.shared.root, storeOptions).then((s) => new PendingSnapshotStore(s)), dir: message.shared.dir, full: message.shared.full };
      shared?.store.catch(() => undefined);
      snapshots.started(message.checkpointId, { savepoint: message.savepoint, store, ...(shared === undefined ? {} : { shared }), ...(message.native === true ? { native: true } : {}) });
      for (const resolve of waiting.get(message.checkpointId) ?? []) void targetOf(message.checkpointId).then(resolve);
      waiting.delete(message.checkpointId);
      return;
    }
    case 'inject-barrier':
      for (const s of subtasks) if (s.isSource || finished.has(s)) s.triggerCheckpoint({ checkpointId: message.checkpointId, savepoint: message.savepoint, ...(message.drain ? { drain: true } : {}) });
      return;
    case 'snapshot-complete':
      settle(message.checkpointId, 'completed');
      for (const s of subtasks) s.notifyCheckpointComplete(message.checkpointId);
      return;
    case 'snapshot-aborted':
      settle(message.checkpointId, 'aborted');
      for (const s of subtasks) s.notifyCheckpointAborted(message.checkpointId);
      return;
    case 'connect-peers':
      peerAddresses?.(message.peers);
      return;
    case 'release':
      for (const s of subtasks) s.release();
      return;
    case 'cancel':
      failSlot(new CancelledError('cancelled'));
      return;
  }
});

function settle(checkpointId: number, how: 'completed' | 'aborted'): void {
  const snapshot = snapshots.settle(checkpointId, how);
  for (const resolve of waiting.get(checkpointId) ?? []) resolve(undefined);
  waiting.delete(checkpointId);
  // An aborted snapshot's directory is deleted by the coordinator: refuse writes still coming.
  if (how === 'aborted') void snapshot?.store.then((s) => s.close(`checkpoint ${checkpointId} was aborted`)).catch(() => undefined);
  if (how === 'aborted') void snapshot?.shared?.store.then((s) => s.close(`checkpoint ${checkpointId} was aborted`)).catch(() => undefined);
}

async function targetOf(checkpointId: number): Promise<CheckpointTarget | undefined> {
  const snapshot = snapshots.get(checkpointId);
  if (snapshot === undefined) {
    if (snapshots.settled(checkpointId)) return undefined;
    return new Promise((resolve) => waiting.set(checkpointId, [...(waiting.get(checkpointId) ?? []), resolve]));
  }
  const target = { checkpointId, savepoint: snapshot.savepoint, store: await snapshot.store, ...(snapshot.native === true ? { native: true } : {}) };
  return snapshot.shared === undefined ? target : { ...target, shared: { store: await snapshot.shared.store, dir: snapshot.shared.dir, full: snapshot.shared.full } };
}

async function deploy(message: DeployMessage): Promise<void> {
  let runs: Promise<void>[] = [];
  const muxes = new Map<number, ChannelMux>();
  const failed = new Promise<never>((_, reject) => (failSlot = reject));
  failed.catch(() => undefined);
  const local = new Map<string, LocalChannel>();
  try {
    const { source } = message;
    const config = new Map(Object.entries(source.config));
    const settings = jobSettingsFromConfig(config, source.parallelism);
    // Batches in flight per channel between slots, local or over the network (Flink's buffers per channel).
    const capacity = networkOptions(config).buffersPerChannel;
    const prepared = await prepareJob(source.jobFile, source.programArgs, settings, undefined, source.bundle?.path);
    storeOptions = prepared.options.storeOptions ?? {};
    const { nodes, restore } = message.restoreFrom === undefined ? { nodes: prepared.plan.nodes, restore: undefined } : await openRestore(prepared.plan, message.restoreFrom, { ...prepared.options, allowNonRestoredState: message.allowNonRestoredState }, localRecoveryOf(prepared.options.checkpoint, message.jobId));
    const byUid = new Map(nodes.map((n) => [n.uid, n]));
    const chains: Chain[] = prepared.plan.chains.map((c) => ({ ...c, nodes: c.nodes.map((n) => byUid.get(n.uid)!) }));
    for (const peer of message.peers) if (peer.port !== undefined) muxes.set(peer.slot, messagePortMux(peer.port, `task slot ${peer.slot}`));
    await connectRemotePeers(message, muxes, failed);
    const slotOf = (index: number): number => index % message.slots;
    const localChannel = (key: string): LocalChannel => {
      let c = local.get(key);
      if (c === undefined) local.set(key, (c = new LocalChannel(capacity)));
      return c;
    };
    subtasks = wireSubtasks({
      jobId: message.jobId,
      plan: prepared.plan,
      chains,
      attempt: message.attempt,
      mode: message.mode,
      checkpointing: (prepared.options.checkpoint?.interval ?? null) !== null,
      localRecovery: localRecoveryOf(prepared.options.checkpoint, message.jobId),
      incremental: prepared.options.checkpoint?.incremental === true ? { buildOnRestore: message.buildOnRestore === true } : undefined,
      ...(prepared.options.stateBackend === undefined ? {} : { stateBackend: prepared.options.stateBackend }),
      ...(prepared.options.stateBackendOptions === undefined ? {} : { stateBackendOptions: prepared.options.stateBackendOptions }),
      restore,
      runsHere: (_, index) => slotOf(index) === message.slot,
      channels: {
        sender: (edge, from, to) => (slotOf(to) === message.slot ? localChannel(`${edge}/${from}/${to}`) : muxes.get(slotOf(to))!.sender(`${edge}/${from}/${to}`)),
        receiver: (edge, from, to) => (slotOf(from) === message.slot ? localChannel(`${edge}/${from}/${to}`) : muxes.get(slotOf(from))!.receiver(`${edge}/${from}/${to}`, capacity)),
      },
      coordination: {
        finished: ({ chain, index }) => {
          const s = subtasks.find((t) => t.chainId === chain && t.index === index);
          if (s !== undefined) finished.add(s);
          post({ type: 'finished', chain, index });
        },
        pendingCheckpoints: () => snapshots.pending().map(([checkpointId, s]) => ({ checkpointId, savepoint: s.savepoint })),
        checkpointTarget: (id) => targetOf(id),
        acknowledge: (ack) => post({ type: 'ack', ack }),
        decline: (checkpointId, reason, why) => post({ type: 'decline', checkpointId, reason: reason instanceof Error ? reason.message : String(reason), ...(why === undefined ? {} : { why }) }),
      },
    });
    post({ type: 'deployed', subtasks: subtasks.length });
    const counting = setInterval(() => post({ type: 'counts', subtasks: subtasks.map((s) => ({ index: s.index, counts: s.recordCounts() })) }), COUNTS_EVERY_MS);
    runs = subtasks.map((s) => s.run().catch((err: unknown) => failSlot(err instanceof CancelledError ? err : new TaskFailure(s.name, err))));
    try {
      await Promise.race([Promise.all(runs), failed]);
    } finally {
      clearInterval(counting);
      post({ type: 'counts', subtasks: subtasks.map((s) => ({ index: s.index, counts: s.recordCounts() })) });
    }
    end(undefined, muxes);
  } catch (err) {
    // Said before the channels close: the peers' errors about closed channels follow from it.
    post({ type: 'failing', failure: describeFailure(err) });
    for (const s of subtasks) s.cancel();
    for (const c of local.values()) c.close();
    for (const m of muxes.values()) m.close();
    await Promise.allSettled(runs);
    end(describeFailure(err), muxes);
  }
}

/**
 * Peers in other TaskManagers: this slot listens, says where, and once it knows where every peer
 * listens, the lower-numbered slot of each pair connects and the other accepts, so each pair gets
 * exactly one connection. Only the attempt's own slots are accepted.
 */
async function connectRemotePeers(message: DeployMessage, muxes: Map<number, ChannelMux>, failed: Promise<never>): Promise<void> {
  const remote = message.peers.filter((p) => p.port === undefined).map((p) => p.slot);
  if (remote.length === 0) return;
  const network = message.network;
  if (network === undefined) throw new Error('peers in other TaskManagers but no network settings');
  const endpoint = (slot: number): string => `${message.jobId}/${message.attempt}/slot-${slot}`;
  const accepted = new Map<number, (mux: ChannelMux) => void>();
  const acceptedMux = new Map<number, Promise<ChannelMux>>();
  for (const slot of remote.filter((s) => s < message.slot)) acceptedMux.set(slot, new Promise((resolve) => accepted.set(slot, resolve)));
  const addresses = new Promise<readonly { slot: number; host: string; port: number }[]>((resolve) => (peerAddresses = resolve));
  dataServer = await listenTcpMux({
    endpointId: endpoint(message.slot),
    host: network.bindHost,
    port: 0,
    secret: network.secret,
    heartbeatTimeoutMs: network.heartbeatTimeoutMs,
    onPeer: (mux, peer) => {
      const slot = remote.find((s) => endpoint(s) === peer && s < message.slot);
      const resolve = slot === undefined ? undefined : accepted.get(slot);
      if (resolve === undefined) return mux.close(); // not a peer of this attempt
      accepted.delete(slot!);
      resolve(mux);
    },
    log: (line) => process.stderr.write(`task slot ${message.slot}: ${line}\n`),
  });
  post({ type: 'listening', host: network.advertisedHost, port: dataServer.port });
  const where = await Promise.race([addresses, failed]);
  await Promise.race([
    Promise.all(
      remote.map(async (slot) => {
        if (slot < message.slot) {
          muxes.set(slot, await acceptedMux.get(slot)!);
          return;
        }
        const address = where.find((a) => a.slot === slot);
        if (address === undefined) throw new Error(`no address for task slot ${slot}`);
        muxes.set(slot, await connectTcpMux({ endpointId: endpoint(message.slot), host: address.host, port: address.port, secret: network.secret, heartbeatTimeoutMs: network.heartbeatTimeoutMs }));
      }),
    ),
    failed,
  ]);
}

function end(failure: SlotFailure | undefined, muxes: Map<number, ChannelMux>): void {
  post({ type: 'ended', ...(failure === undefined ? {} : { failure }) });
  for (const m of muxes.values()) m.close();
  void dataServer?.close();
  port.close();
}

function describeFailure(err: unknown): SlotFailure {
  const inner = err instanceof TaskFailure ? err.error : err;
  return {
    taskName: err instanceof TaskFailure ? err.taskName : null,
    name: inner instanceof Error ? inner.name : typeof inner,
    message: inner instanceof Error ? inner.message : String(inner),
    stack: stackTrace(inner),
    ...(inner instanceof UserError ? { userExitCode: inner.exitCode } : {}),
    cancelled: err instanceof CancelledError,
    // A channel whose other end went away: most likely the consequence of another slot's failure.
    ...(inner instanceof ChannelClosedError ? { secondary: true } : {}),
  };
}
