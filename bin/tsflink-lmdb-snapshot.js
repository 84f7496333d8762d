// Thin entry of an lmdb snapshot thread (a worker thread of a processing thread that has lmdb stores): load TypeScript, hand over.
// Loader hooks registered on the main thread do not reach worker threads: each registers its own, as a slot thread does.
import './register-loaders.js';

await import('../src/engine/state/embedded/lmdb-snapshot-thread-main.ts');
