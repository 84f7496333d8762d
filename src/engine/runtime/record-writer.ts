/**
 * One output edge of a subtask: picks the target channel(s) of each record by the edge's
 * partitioning, buffers elements per channel and sends them as encoded batches. Watermarks,
 * barriers and the end of input go to every channel, after what was buffered before them.
 */
import { subtaskFor } from '../../format/key-groups.ts';
import type { Partitioning } from '../api/stream-graph.ts';
import { keyGroupOfKeyString, keyStringOf } from '../state/key-string.ts';
import type { ChannelSender } from './channel.ts';
import { BatchBuilder } from './element-codec.ts';
import type { StreamElement } from './stream-element.ts';

/** Elements per batch: per-batch costs (encoding call, channel hand-over) are shared by this many. */
export const BATCH_ELEMENTS = 512;

export class RecordWriter {
  readonly #buffers: BatchBuilder[];
  #next = 0;
  #full = false;

  constructor(
    private readonly channels: readonly ChannelSender[],
    private readonly partitioning: Partitioning,
    /** This subtask's index and the downstream max parallelism (hash). */
    private readonly subtaskIndex: number,
    private readonly downstreamMaxParallelism: number,
    /** The OutputTag id when this edge carries a side output (Flink's side-output edge), else the main output. */
    readonly sideOutput?: string,
  ) {
    this.#buffers = channels.map(() => new BatchBuilder());
  }

  /** Whether some buffer is full and `flush` should be awaited (backpressure). */
  get needsFlush(): boolean {
    return this.#full;
  }

  emit(value: unknown, timestamp: number | null): void {
    const p = this.partitioning;
    switch (p.kind) {
      case 'forward':
        // Wired pointwise: the one channel is to the subtask of the same index.
        this.#pushRecord(0, value, timestamp, -1);
        return;
      case 'rebalance':
      // Rescale: the same round robin, over only the channels of this subtask's pointwise run.
      case 'rescale':
        this.#pushRecord(this.#next, value, timestamp, -1);
        this.#next = (this.#next + 1) % this.channels.length;
        return;
      case 'shuffle':
        this.#pushRecord(Math.floor(Math.random() * this.channels.length), value, timestamp, -1);
        return;
      case 'global':
        this.#pushRecord(0, value, timestamp, -1);
        return;
      case 'hash': {
        // The group travels with the record: the keyed operator downstream need not hash again.
        const group = keyGroupOfKeyString(keyStringOf(p.key(value)), this.downstreamMaxParallelism);
        this.#pushRecord(subtaskFor(group, this.channels.length, this.downstreamMaxParallelism), value, timestamp, group);
        return;
      }
      case 'broadcast':
        for (let i = 0; i < this.channels.length; i++) this.#pushRecord(i, value, timestamp, -1);
    }
  }

  /** An element for every channel (watermark, barrier, end), in order after earlier records. */
  broadcast(element: StreamElement): void {
    for (let i = 0; i < this.channels.length; i++) {
      const buffer = this.#buffers[i]!;
      buffer.add(element);
      if (buffer.elements >= BATCH_ELEMENTS) this.#full = true;
    }
  }

  async flush(): Promise<void> {
    this.#full = false;
    for (let i = 0; i < this.channels.length; i++) {
      const buffer = this.#buffers[i]!;
      if (buffer.elements === 0) continue;
      await this.channels[i]!.send(buffer.encode());
    }
  }

  close(): void {
    for (const c of this.channels) c.close();
  }

  #pushRecord(channel: number, value: unknown, timestamp: number | null, keyGroup: number): void {
    const buffer = this.#buffers[channel]!;
    buffer.addRecord(value, timestamp, keyGroup);
    if (buffer.elements >= BATCH_ELEMENTS) this.#full = true;
  }
}
