/**
 * A job file (as source text, to be written where a test or benchmark wants it, as `.mts`) that
 * keeps many keys in keyed state: args `<keys> <output file> <value bytes>`. Every key is seen
 * twice (k0 .. k<K-1>, then again), its state a count padded to <value bytes> (a fresh string each
 * time; 0: the bare count); a key is emitted on its second visit, and the sink writes
 * `keys seen twice: <n>` to the output file when the input ends, so the output says how many keys
 * the state kept. Used by test/cluster/larger-than-memory.test.ts and `npm run bench -- backends`.
 */
export function manyKeysJobSource(tsflinkEntry: string): string {
  return `import { writeFileSync } from 'node:fs';
import { DataGeneratorSource, valueState } from ${JSON.stringify(tsflinkEntry)};
export default (env: any, args: string[]): void => {
  const keys = Number(args[0]);
  const out = String(args[1]);
  const bytes = Number(args[2] ?? 0);
  env
    .fromSource(new DataGeneratorSource({ count: 2 * keys, generate: (i: number) => 'k' + (i % keys) }), 'keys')
    .uid('keys')
    .keyBy((k: string) => k)
    .process(() => ({
      count: undefined as any,
      open(ctx: any) { this.count = ctx.getState(valueState<string>('count')); },
      processElement(_k: string, _ctx: unknown, collector: any) {
        const n = Number.parseInt(this.count.value() ?? '0', 10) + 1;
        this.count.update(String(n).padEnd(bytes, '.'));
        if (n === 2) collector.collect(1);
      },
    }))
    .uid('count')
    .sinkTo({ seen: 0, invoke() { this.seen += 1; }, finish() { writeFileSync(out, 'keys seen twice: ' + this.seen + '\\n'); } })
    .uid('sink');
};
`;
}
