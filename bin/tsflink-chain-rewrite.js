// Thin entry of the chain rewrite thread (a worker thread of a processing thread that writes incremental checkpoints to local disk): load TypeScript, hand over.
// Loader hooks registered on the main thread do not reach worker threads: each registers its own, as a slot thread does.
import './register-loaders.js';

await import('../src/engine/checkpoint/chain-rewrite-thread-main.ts');
