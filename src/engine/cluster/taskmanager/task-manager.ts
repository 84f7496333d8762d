/**
 * A TaskManager: a process that offers task slots to the JobManager and runs the subtasks
 * deployed to them, one worker thread per slot. It registers with the JobManager's REST
 * endpoint and heartbeats there; a job's coordinator side connects to its control port and
 * deploys slots, which reach slots of other TaskManagers over TCP and slots of this one over
 * MessagePorts.
 */
import { randomBytes } from 'node:crypto';
import { cpus, freemem, tmpdir, totalmem } from 'node:os';
import { join } from 'node:path';
import { MessageChannel, type MessagePort, type Worker } from 'node:worker_threads';
import type { ChannelMux } from '../../network/channel-mux.ts';
import { type TcpMuxServer, listenTcpMux } from '../../network/tcp-mux.ts';
import { stackTrace } from '../../runtime/task-failure.ts';
import { controlLink } from './control-link.ts';
import type { FromSlot, ToSlot } from './slot-protocol.ts';
import { type FromTaskManager, TO_JOB, TO_TASK_MANAGER, type ToTaskManager } from './task-manager-protocol.ts';
import type { TaskManagerRegistration } from './task-manager-registry.ts';
import { isOutOfMemory, startSlotThread } from './slot-thread.ts';
import { type BlobCache, blobCache } from './blob-cache.ts';

export interface TaskManagerOptions {
  readonly slots: number;
  /** The JobManager's REST URL, where the TaskManager registers and heartbeats. */
  readonly jobManagerUrl: string;
  /** `taskmanager.bind-host` / `taskmanager.host`: where ports bind, and the address peers use. */
  readonly bindHost: string;
  readonly advertisedHost: string;
  /** `taskmanager.rpc.port`; 0: any free port. */
  readonly port: number;
  readonly secret?: string;
  readonly heartbeatIntervalMs: number;
  readonly heartbeatTimeoutMs: number;
  /** Each slot's heap, MiB (a share of `taskmanager.memory.task.heap.size`). */
  readonly slotHeapMb?: number;
  readonly log: (line: string) => void;
  /** Injected for tests; `fetch` by default. */
  readonly fetch?: typeof fetch;
  /** `blob.storage.directory`: where this TaskManager caches job code (its own subdirectory); default the system's temporary directory. */
  readonly blobStorageDirectory?: string;
}

export interface RunningTaskManager {
  readonly id: string;
  readonly port: number;
  stop(): Promise<void>;
}


export async function runTaskManager(options: TaskManagerOptions): Promise<RunningTaskManager> {
  const id = `${options.advertisedHost}:${options.port === 0 ? 'any' : options.port}-${randomBytes(3).toString('hex')}`;
  const inUse = new Set<Worker>();
  const blobs = blobCache(join(options.blobStorageDirectory ?? tmpdir(), `tsflink-taskmanager-blobs-${id.replace(/[^A-Za-z0-9.-]/g, '_')}`), options.jobManagerUrl, options.fetch ?? fetch);
  const server: TcpMuxServer = await listenTcpMux({
    endpointId: id,
    host: options.bindHost,
    port: options.port,
    secret: options.secret,
    heartbeatTimeoutMs: options.heartbeatTimeoutMs,
    onPeer: (mux, peer) => serveJob(mux, peer, id, options, inUse, blobs),
    log: options.log,
  });
  const registration: TaskManagerRegistration = { id, host: options.advertisedHost, port: server.port, slots: options.slots, pid: process.pid, hardware: { cpuCores: cpus().length, physicalMemory: totalmem(), freeMemory: freemem() } };
  const http = options.fetch ?? fetch;
  let stopped = false;
  let registered = false;
  /**
   * What went wrong since the JobManager last answered, once said: the TaskManager retries every
   * heartbeat interval, and one line says so (a line per attempt would bury the log).
   */
  let said: string | undefined;
  const retrying = (problem: string): void => {
    if (said !== problem) options.log(`TaskManager ${id}: ${problem}; retrying every ${options.heartbeatIntervalMs} ms (heartbeat.interval)`);
    said = problem;
    registered = false;
  };
  const beat = async (): Promise<void> => {
    let response: Response;
    try {
      response = registered
        ? await http(`${options.jobManagerUrl}/taskmanagers/${encodeURIComponent(id)}/heartbeat`, { method: 'POST' })
        : await http(`${options.jobManagerUrl}/taskmanagers`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(registration) });
    } catch (err) {
      retrying(`the JobManager at ${options.jobManagerUrl} does not answer (${unreachable(err)})`);
      return;
    }
    if (!registered) {
      if (!response.ok) {
        retrying(`the JobManager at ${options.jobManagerUrl} refused its registration (HTTP ${response.status}: ${(await response.text().catch(() => '')).trim().slice(0, 200)})`);
        return;
      }
      registered = true;
      said = undefined;
      options.log(`TaskManager ${id} registered with the JobManager at ${options.jobManagerUrl}: ${options.slots} slots, control and data port ${server.port}`);
      return;
    }
    said = undefined;
    // A new JobManager does not know this TaskManager: register again (Flink reconnects too).
    if (response.status === 404) registered = false;
  };
  await beat();
  const timer = setInterval(() => void (stopped ? undefined : beat()), options.heartbeatIntervalMs);
  return {
    id,
    port: server.port,
    stop: async () => {
      stopped = true;
      clearInterval(timer);
      await server.close();
      await Promise.all([...inUse].map((w) => w.terminate()));
      await blobs.remove();
    },
  };
}

/** One job's connection: deploys into free slots, relays messages, and ends its slots when it goes. */
function serveJob(mux: ChannelMux, peer: string, id: string, options: TaskManagerOptions, inUse: Set<Worker>, blobs: BlobCache): void {
  const workers = new Map<number, Worker>();
  /** Per slot: messages wait until its deploy, which waits for the job's code, has been posted. */
  const posted = new Map<number, Promise<void>>();
  /** Ports for slot pairs of this connection that run here, the other end kept for the slot deployed later. */
  const pairs = new Map<string, MessagePort>();
  const link = controlLink<ToTaskManager, FromTaskManager>(mux, TO_JOB, TO_TASK_MANAGER, (message) => {
    if (message.type === 'to-slot') {
      const worker = workers.get(message.slot);
      if (worker !== undefined) void posted.get(message.slot)?.then(() => worker.postMessage(message.message satisfies ToSlot));
      return;
    }
    const { deploy } = message;
    if (inUse.size >= options.slots) {
      link.send({ type: 'refused', slot: deploy.slot, reason: `all ${options.slots} slots of this TaskManager are in use` });
      return;
    }
    const worker = startSlotThread(options.slotHeapMb);
    workers.set(deploy.slot, worker);
    inUse.add(worker);
    const ports: MessagePort[] = [];
    const peers = deploy.peers.map((p) => {
      if (!p.sameTaskManager) return { slot: p.slot };
      const key = `${Math.min(p.slot, deploy.slot)}-${Math.max(p.slot, deploy.slot)}`;
      let port = pairs.get(key);
      if (port === undefined) {
        const channel = new MessageChannel();
        pairs.set(key, channel.port2);
        port = channel.port1;
      } else pairs.delete(key);
      ports.push(port);
      return { slot: p.slot, port };
    });
    let gone = false;
    const slotGone = (failure?: Error): void => {
      if (gone) return;
      gone = true;
      inUse.delete(worker);
      link.send({ type: 'slot-gone', slot: deploy.slot, ...(failure === undefined ? {} : { failure: { taskName: null, name: failure.name, message: `task slot ${deploy.slot} in TaskManager ${id}: ${failure.message}`, stack: stackTrace(failure), cancelled: false } }) });
    };
    worker.on('message', (m: FromSlot) => link.send({ type: 'from-slot', slot: deploy.slot, message: m }));
    // A slot's heap exhausted ends its thread, not the process: say so in the job's failure.
    worker.on('error', (err) => slotGone(isOutOfMemory(err) ? new Error(outOfMemory(options.slotHeapMb)) : err));
    worker.on('exit', (code) => slotGone(code === 0 ? undefined : new Error(`its thread exited with code ${code}`)));
    const { source } = deploy;
    const code = source.bundle === undefined || source.bundle.path !== undefined ? Promise.resolve(source) : blobs.path(source.bundle.key).then((path) => ({ ...source, bundle: { key: source.bundle!.key, path } }));
    posted.set(
      deploy.slot,
      code.then(
        (withCode) => worker.postMessage({ ...deploy, source: withCode, type: 'deploy', peers } satisfies ToSlot, ports),
        (err: unknown) => {
          slotGone(err instanceof Error ? err : new Error(String(err)));
          void worker.terminate();
        },
      ),
    );
  });
  // The job's side is gone (its process ended, or the network): its slots have no one to answer.
  void link.closed.then((why) => {
    if (workers.size > 0) options.log(`the connection of ${peer} ended (${why.message}); ending its ${workers.size} slot(s)`);
    for (const w of workers.values()) {
      inUse.delete(w);
      void w.terminate();
    }
  });
}

/** Why a request did not reach the JobManager: fetch's own message ('fetch failed') says nothing, its cause does. */
function unreachable(err: unknown): string {
  if (!(err instanceof Error)) return String(err);
  const cause: unknown = err.cause;
  return cause instanceof Error ? cause.message : err.message;
}

/** The one line a job fails with when one of its slots here ran out of heap. */
export function outOfMemory(slotHeapMb: number | undefined): string {
  const limit = slotHeapMb === undefined ? "Node's default heap limit" : `a heap limit of ${slotHeapMb} MB (taskmanager.memory.task.heap.size shared by taskmanager.numberOfTaskSlots)`;
  return `ran out of memory with ${limit}; a job that keeps its keyed state on the heap (state.backend.type: hashmap) needs rocksdb or lmdb to keep state larger than memory, else give the TaskManager more heap`;
}
