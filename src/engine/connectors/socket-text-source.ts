/**
 * Lines of text read from a TCP socket (Flink's `socketTextStream` and its
 * SocketTextStreamFunction), for quick experiments: `nc -lk 9999` in one terminal, the job in
 * another. It connects when the job starts, splits what arrives on `delimiter` (with `\n`, a `\r`
 * before it is dropped, as Flink does), decodes UTF-8 across packet boundaries, and ends, emitting
 * what is left after the last delimiter, when the server closes the connection.
 *
 * Not replayable: what was read cannot be read again, so a job with exactly-once checkpointing
 * refuses it (source-checks.ts); with at-least-once checkpointing or none it runs, and a restart
 * connects anew (what the server sent meanwhile is not seen again, as in Flink). Non-parallel, as
 * Flink's: one subtask reads the socket.
 */
import { type Socket, connect } from 'node:net';
import { StringDecoder } from 'node:string_decoder';
import { UserError } from '../../errors.ts';
import type { PollResult, Source, SourceReader, SourceRecord } from '../api/source.ts';

/** Longest a poll waits for data, so barriers and mail are not held back. */
const IDLE_WAIT_MS = 10;
/** Lines buffered before the socket is paused: TCP then pushes back on the sender. */
const HIGH_WATER_LINES = 8192;

export interface SocketTextSourceOptions {
  readonly host: string;
  readonly port: number;
  /** What ends a record; `\n` by default. */
  readonly delimiter?: string;
}

export class SocketTextSource implements Source<string> {
  readonly bounded = false;
  readonly replayable = false;
  readonly nonParallel = true;
  readonly description: string;
  readonly #options: Required<SocketTextSourceOptions>;

  constructor(options: SocketTextSourceOptions) {
    const { host, port, delimiter = '\n' } = options;
    if (typeof host !== 'string' || host === '') throw new UserError('socketTextStream: the host must be a non-empty string');
    if (!Number.isInteger(port) || port < 1 || port > 65535) throw new UserError(`socketTextStream: port ${String(port)} is not a port number (1 to 65535)`);
    if (typeof delimiter !== 'string' || delimiter === '') throw new UserError('socketTextStream: the delimiter must be a non-empty string');
    this.#options = { host, port, delimiter };
    this.description = `socketTextStream(${host}:${port})`;
  }

  /** No splits: there is nothing to hand between subtasks or to rewind. */
  createSplits(): unknown[] {
    return [];
  }

  createReader(): SourceReader<string> {
    return new SocketLineReader(this.#options);
  }
}

class SocketLineReader implements SourceReader<string> {
  readonly #lines: string[] = [];
  readonly #decoder = new StringDecoder('utf8');
  #socket: Socket | undefined;
  #carry = '';
  #ended = false;
  #error: Error | undefined;
  #wake: (() => void) | undefined;

  constructor(private readonly options: Required<SocketTextSourceOptions>) {}

  addSplits(): void {}

  async poll(max: number): Promise<PollResult<string>> {
    this.#socket ??= this.#connect();
    if (this.#lines.length === 0 && !this.#ended && this.#error === undefined) {
      await new Promise<void>((resolve) => {
        const timer = setTimeout(() => wake(), IDLE_WAIT_MS);
        const wake = (): void => {
          clearTimeout(timer);
          this.#wake = undefined;
          resolve();
        };
        this.#wake = wake;
      });
    }
    if (this.#error !== undefined) throw this.#error;
    const taken = this.#lines.splice(0, max);
    if (this.#socket.isPaused() && this.#lines.length < HIGH_WATER_LINES / 2) this.#socket.resume();
    const records: SourceRecord<string>[] = taken.map((value) => ({ value, timestamp: null }));
    return { records, done: this.#ended && this.#lines.length === 0 };
  }

  /** Nothing to checkpoint: a socket cannot be rewound. */
  snapshotSplits(): unknown[] {
    return [];
  }

  async close(): Promise<void> {
    this.#socket?.destroy();
  }

  #connect(): Socket {
    const { host, port } = this.options;
    const socket = connect({ host, port });
    socket.on('data', (chunk: Buffer) => this.#take(this.#decoder.write(chunk)));
    socket.on('end', () => {
      this.#take(this.#decoder.end());
      if (this.#carry !== '') this.#lines.push(this.#carry); // Flink emits what follows the last delimiter
      this.#carry = '';
      this.#ended = true;
      this.#wake?.();
    });
    socket.on('error', (err: NodeJS.ErrnoException) => {
      const reason = err.code === 'ECONNREFUSED' ? 'connection refused' : err.code === 'ENOTFOUND' ? 'unknown host' : err.message;
      const hint = err.code === 'ECONNREFUSED' ? `; start a server there first (e.g. \`nc -lk ${port}\`)` : '';
      this.#error ??= new UserError(`socketTextStream: cannot read from ${host}:${port}: ${reason}${hint}`, 1, { cause: err });
      this.#wake?.();
    });
    return socket;
  }

  #take(text: string): void {
    if (text === '') return;
    const { delimiter } = this.options;
    const parts = (this.#carry + text).split(delimiter);
    this.#carry = parts.pop()!;
    for (const part of parts) this.#lines.push(delimiter === '\n' && part.endsWith('\r') ? part.slice(0, -1) : part);
    if (this.#lines.length >= HIGH_WATER_LINES) this.#socket?.pause();
    if (parts.length > 0) this.#wake?.();
  }
}
