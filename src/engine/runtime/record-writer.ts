/**
 * One output edge of a subtask: picks the target channel(s) of each record by the edge's
 * partitioning, buffers elements per channel and sends them as encoded batches. Watermarks,
 * barriers and the end of input go to every channel, after what was buffered before them.
 */
import { keyGroupFor, subtaskFor } from '../../format/key-groups.ts';
import type { Partitioning } from '../api/stream-graph.ts';
import type { ChannelSender } from './channel.ts';
import { encodeBatch } from './element-codec.ts';
import type { StreamElement } from './stream-element.ts';

const BATCH_ELEMENTS = 512;

export class RecordWriter {
  readonly #buffers: StreamElement[][];
  #next = 0;
  #full = false;

  constructor(
    private readonly channels: readonly ChannelSender[],
    private readonly partitioning: Partitioning,
    /** This subtask's index (forward edges keep it) and the downstream max parallelism (hash). */
    private readonly subtaskIndex: number,
    private readonly downstreamMaxParallelism: number,
  ) {
    this.#buffers = channels.map(() => []);
  }

  /** Whether some buffer is full and `flush` should be awaited (backpressure). */
  get needsFlush(): boolean {
    return this.#full;
  }

  emit(value: unknown, timestamp: number | null): void {
    const element: StreamElement = { kind: 'record', value, timestamp };
    const p = this.partitioning;
    switch (p.kind) {
      case 'forward':
        this.#push(this.channels.length === 1 ? 0 : this.subtaskIndex, element);
        return;
      case 'rebalance':
        this.#push(this.#next, element);
        this.#next = (this.#next + 1) % this.channels.length;
        return;
      case 'hash': {
        const group = keyGroupFor(p.key(value), this.downstreamMaxParallelism);
        this.#push(subtaskFor(group, this.channels.length, this.downstreamMaxParallelism), element);
        return;
      }
      case 'broadcast':
        for (let i = 0; i < this.channels.length; i++) this.#push(i, element);
    }
  }

  /** An element for every channel (watermark, barrier, end), in order after earlier records. */
  broadcast(element: StreamElement): void {
    for (let i = 0; i < this.channels.length; i++) this.#push(i, element);
  }

  async flush(): Promise<void> {
    this.#full = false;
    for (let i = 0; i < this.channels.length; i++) {
      const buffer = this.#buffers[i]!;
      if (buffer.length === 0) continue;
      this.#buffers[i] = [];
      await this.channels[i]!.send(encodeBatch(buffer));
    }
  }

  close(): void {
    for (const c of this.channels) c.close();
  }

  #push(channel: number, element: StreamElement): void {
    const buffer = this.#buffers[channel]!;
    buffer.push(element);
    if (buffer.length >= BATCH_ELEMENTS) this.#full = true;
  }
}
