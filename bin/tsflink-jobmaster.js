// Thin entry of a job's JobMaster thread (a worker thread of the JobManager process): load TypeScript and job files, hand over.
// Loader hooks registered on the main thread do not reach worker threads: each registers its own, as a slot thread does.
import './register-loaders.js';

process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= 'true';
await import('../src/engine/cluster/jobmaster-thread-main.ts');
