/**
 * Orders priced by an HTTP service with Async I/O (the README's example): one request per order,
 * up to 100 out at a time per subtask, results in the order of the orders, a 5-second timeout.
 * Arguments: the service's base URL (it answers GET <url>/price?id=<n> with {"id", "price"}) and
 * how many orders. test/examples/async-prices.test.ts runs it on a cluster against a local server.
 */
import { AsyncDataStream, type AsyncFunction, DataGeneratorSource, PrintSink, type StreamExecutionEnvironment, TimeUnit } from '../src/index.ts';

export type Priced = { id: number; price: number };

export function priceLookup(baseUrl: string): AsyncFunction<number, Priced> & { abort?: AbortController } {
  return {
    open() {
      this.abort = new AbortController(); // each subtask gets its own copy of the object
    },
    async asyncInvoke(id) {
      const res = await fetch(`${baseUrl}/price?id=${id}`, { signal: this.abort!.signal });
      if (!res.ok) throw new Error(`price service answered ${res.status} for order ${id}`);
      return [(await res.json()) as Priced];
    },
    close() {
      this.abort?.abort(); // a failed or cancelled attempt leaves no request running
    },
  };
}

export default (env: StreamExecutionEnvironment, args: string[]): void => {
  const [baseUrl = 'http://127.0.0.1:8099', count = '10'] = args;
  const orders = env.fromSource(new DataGeneratorSource({ count: Number(count), generate: (i) => i }), 'orders').uid('orders');
  AsyncDataStream.orderedWait(orders, priceLookup(baseUrl), 5, TimeUnit.SECONDS, 100)
    .uid('prices')
    .map((p) => `order ${p.id} costs ${p.price}`)
    .uid('describe')
    .sinkTo(new PrintSink<string>());
};
