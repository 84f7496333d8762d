/**
 * Flink's SocketWindowWordCount without the window: a running count per word of the lines typed
 * into a socket, printed as they change. For quick experiments:
 *
 *   nc -lk 9999                                          # one terminal: type lines here
 *   flink run examples/socket-word-count.ts --port 9999  # another
 *
 * `--host` defaults to localhost. The socket cannot be replayed: with checkpointing, the job
 * needs `-D execution.checkpointing.mode=AT_LEAST_ONCE` (exactly-once is refused). The job ends
 * when the server closes the connection (nc: Ctrl-D without -k).
 */
import { type Collector, PrintSink, type StreamExecutionEnvironment } from '../src/index.ts';

export type WordCount = { word: string; count: number };

export default (env: StreamExecutionEnvironment, args: string[]): void => {
  const value = (name: string): string | undefined => {
    const at = args.indexOf(`--${name}`);
    return at === -1 ? undefined : args[at + 1];
  };
  const port = Number(value('port'));
  if (!Number.isInteger(port)) throw new Error('socket-word-count: --port <port> is required (the port `nc -lk <port>` listens on)');
  env
    .socketTextStream(value('host') ?? 'localhost', port)
    .flatMap((line: string, out: Collector<WordCount>) => {
      for (const word of line.toLowerCase().split(/\W+/)) if (word !== '') out.collect({ word, count: 1 });
    })
    .uid('split')
    .keyBy((w) => w.word)
    .sum('count')
    .uid('counts')
    .sinkTo(new PrintSink<WordCount>())
    .uid('print');
};
